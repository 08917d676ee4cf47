"""What a model call costs, from its recorded usage and the model's configured price.

Prices are USD per 1M tokens, the unit providers publish. A tenant may set them on a
model it adds (RAGFlow has no such fields); the built-in models run in-process and are
free. A model without a price has no cost: nothing is made up.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ragprism.errors import InvalidArgument
from ragprism.llm.base import Usage

TOKENS_PER_PRICE_UNIT = 1_000_000
MAX_PRICE = 1_000_000.0
"""A sanity bound (USD per 1M tokens): far above any real price, below float trouble."""


@dataclass(frozen=True)
class ModelPrice:
    """USD per 1M input (prompt) and output (completion) tokens."""

    input: float
    output: float

    def cost(self, usage: Usage) -> dict[str, float]:
        """Langfuse's ``cost_details`` shape, ``{"input", "output", "total"}``, in USD."""
        input_cost = usage.input_tokens * self.input / TOKENS_PER_PRICE_UNIT
        output_cost = usage.output_tokens * self.output / TOKENS_PER_PRICE_UNIT
        # Rounded so that float noise (0.15 * 3 = 0.44999...) never reaches the trace.
        return {
            "input": round(input_cost, 12),
            "output": round(output_cost, 12),
            "total": round(input_cost + output_cost, 12),
        }


FREE = ModelPrice(0.0, 0.0)
"""The price of the built-in models, which run locally."""


def check_price(field: str, value: float | None) -> float | None:
    """``value`` if it is a usable price (a finite number from 0 to ``MAX_PRICE``) or None;
    ``InvalidArgument`` naming ``field`` otherwise."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidArgument(f"{field}: must be a number (USD per 1M tokens)")
    if not math.isfinite(value) or value < 0 or value > MAX_PRICE:
        raise InvalidArgument(
            f"{field}: must be a finite number from 0 to {MAX_PRICE:,.0f} (USD per 1M tokens)"
        )
    return float(value)


def price_of(input_price: float | None, output_price: float | None) -> ModelPrice | None:
    """The price of a model with these stored prices: None when neither is set, and a
    price that is not set counts as 0 when the other one is."""
    if input_price is None and output_price is None:
        return None
    return ModelPrice(input_price or 0.0, output_price or 0.0)

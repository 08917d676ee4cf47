"""Recording a model call's usage (and its cost, when the model has a price) on its
observation, the same way for every model kind."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ragprism.llm import Usage
from ragprism.llm.pricing import ModelPrice

if TYPE_CHECKING:
    from ragprism.tracing import Observation


def record_usage(observation: Observation, usage: Usage, price: ModelPrice | None) -> None:
    """Set ``usage_details``, ``cost_details`` (only with a price) and, when the usage was
    counted locally rather than reported by the provider, ``usage_estimated: true`` in
    the observation's metadata."""
    observation.update(
        usage=usage.as_details(),
        cost=price.cost(usage) if price is not None else None,
        metadata={"usage_estimated": True} if usage.estimated else None,
    )

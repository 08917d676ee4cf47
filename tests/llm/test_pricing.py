"""Model prices and the cost of a call."""

from __future__ import annotations

import math

import pytest

from ragprism.errors import InvalidArgument
from ragprism.llm import Usage
from ragprism.llm.pricing import FREE, ModelPrice, check_price, price_of


def test_cost_is_usage_times_price_per_million_tokens() -> None:
    price = ModelPrice(input=2.5, output=10.0)
    cost = price.cost(Usage.of(1_000, 200, estimated=False))
    assert cost == {"input": 0.0025, "output": 0.002, "total": 0.0045}


def test_cost_has_no_float_noise() -> None:
    cost = ModelPrice(0.1, 0.2).cost(Usage.of(3, 3, estimated=True))
    assert cost == {"input": 3e-07, "output": 6e-07, "total": 9e-07}


def test_free_costs_nothing() -> None:
    assert FREE.cost(Usage.of(10**9, 10**9, estimated=True)) == {
        "input": 0.0,
        "output": 0.0,
        "total": 0.0,
    }


def test_a_price_needs_at_least_one_side() -> None:
    assert price_of(None, None) is None
    assert price_of(1.0, None) == ModelPrice(1.0, 0.0)
    assert price_of(None, 0.0) == ModelPrice(0.0, 0.0)


@pytest.mark.parametrize("good", [0, 0.0, 0.15, 1_000_000, None])
def test_good_prices_pass(good: float | None) -> None:
    assert check_price("input_price", good) == good


@pytest.mark.parametrize("bad", [-1e-9, math.nan, math.inf, -math.inf, 1_000_000.5, True])
def test_bad_prices_name_the_field(bad: float) -> None:
    with pytest.raises(InvalidArgument, match=r"^output_price: must be a"):
        check_price("output_price", bad)

"""The built-in hashing embedding model."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys

import pytest

from ragprism.llm import HashingEmbedding


def cosine(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


def test_vectors_have_the_dimension_and_unit_length() -> None:
    model = HashingEmbedding(dimension=128)
    assert model.dimension == 128
    assert model.model_name == "builtin-hashing-128"
    assert HashingEmbedding().model_name == "builtin-hashing"
    result = model.embed(["Refunds are issued within 14 days.", "", "知识库"])
    assert [len(v) for v in result.vectors] == [128, 128, 128]
    for vector in result.vectors:
        assert math.isclose(math.sqrt(sum(x * x for x in vector)), 1.0)


def test_two_instances_agree() -> None:
    text = "How do I reset my password?"
    assert HashingEmbedding().embed([text]).vectors == HashingEmbedding().embed([text]).vectors
    assert HashingEmbedding().embed_query(text).vectors == HashingEmbedding().embed([text]).vectors


def test_vectors_are_identical_across_processes() -> None:
    """Python salts str hashes per process; the model must not depend on them."""
    text = "Refunds are issued within 14 days of the purchase."
    script = (
        "import json, sys; from ragprism.llm import HashingEmbedding; "
        "print(json.dumps(HashingEmbedding(64).embed([sys.argv[1]]).vectors[0]))"
    )
    seed = "1" if os.environ.get("PYTHONHASHSEED") != "1" else "2"
    env = {**os.environ, "PYTHONHASHSEED": seed}
    output = subprocess.run(
        [sys.executable, "-c", script, text], env=env, capture_output=True, check=True
    ).stdout
    assert json.loads(output) == HashingEmbedding(64).embed([text]).vectors[0]


@pytest.mark.parametrize(
    ("query", "similar", "unrelated"),
    [
        (
            "How do I get a refund for my order?",
            "Refunds for orders are issued within 14 days.",
            "The office cat sleeps on the windowsill all afternoon.",
        ),
        (
            "password reset",
            "To reset a forgotten password, open the login page.",
            "Quarterly revenue grew by eight percent.",
        ),
        (
            "shipping costs to Canada",
            "We ship to Canada; shipping is free above 50 dollars.",
            "Our vacation policy grants 25 days per year.",
        ),
    ],
)
def test_similar_texts_score_higher_than_unrelated(
    query: str, similar: str, unrelated: str
) -> None:
    model = HashingEmbedding()
    q, s, u = model.embed([query, similar, unrelated]).vectors
    assert cosine(q, s) > cosine(q, u) + 0.1


def test_word_forms_share_features() -> None:
    model = HashingEmbedding()
    a, b, c = model.embed(["refunding", "refunded", "windowsill"]).vectors
    assert cosine(a, b) > cosine(a, c)


def test_usage_is_estimated() -> None:
    usage = HashingEmbedding().embed(["one two three", "four"]).usage
    assert usage.input_tokens == 4
    assert usage.output_tokens == 0
    assert usage.total_tokens == 4
    assert usage.estimated
    assert HashingEmbedding().embed([]).vectors == []


def test_dimension_must_be_useful() -> None:
    with pytest.raises(ValueError, match="at least 16"):
        HashingEmbedding(dimension=4)

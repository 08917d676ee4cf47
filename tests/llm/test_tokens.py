"""The offline token counter."""

from __future__ import annotations

from ragprism.llm.tokens import (
    IMAGE_TOKENS,
    count_message_tokens,
    count_tokens,
    pieces,
)


def test_blank_text_has_no_tokens() -> None:
    assert count_tokens("") == 0
    assert count_tokens("  \n\t ") == 0


def test_short_words_and_punctuation_are_one_token_each() -> None:
    assert pieces("Hello, world!") == ["Hello", ",", "world", "!"]
    assert count_tokens("Hello, world!") == 4


def test_long_words_and_numbers_split() -> None:
    assert count_tokens("cat") == 1
    assert count_tokens("internationalization") == 5  # 20 letters, ~4 per token
    assert count_tokens("2024") == 2  # ~3 digits per token
    assert count_tokens("7") == 1


def test_cjk_characters_are_one_token_each() -> None:
    assert count_tokens("知识库") == 3
    assert count_tokens("RAG 知识库") == 4


def test_count_is_deterministic_and_grows_with_text() -> None:
    text = "Refunds are issued within 14 days of the purchase."
    assert count_tokens(text) == count_tokens(text)
    assert count_tokens(text + " " + text) == 2 * count_tokens(text)


def test_messages_count_their_overhead_and_images() -> None:
    text = [{"role": "user", "content": "What is the refund policy?"}]
    assert count_message_tokens(text) > count_tokens("What is the refund policy?")
    parts = [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "What is the refund policy?"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
            ],
        }
    ]
    assert count_message_tokens(parts) == count_message_tokens(text) + IMAGE_TOKENS

"""The two spellings of an assistant's settings in RAGFlow's chat API.

``ragflow-sdk`` up to 0.24 sends nested ``llm`` and ``prompt`` objects and ``avatar``;
later releases send RAGFlow's stored names: ``icon``, ``llm_id``, ``llm_setting``,
``prompt_config`` and top-level retrieval settings. Requests in the later spelling are
folded into the earlier one, which :mod:`ragprism.services.chat.chats` applies; responses carry
both.
"""

from __future__ import annotations

from typing import Any

from ragprism.errors import InvalidArgument

# stored prompt_config key -> the earlier ``prompt`` key
_PROMPT_CONFIG_KEYS = {
    "system": "prompt",
    "prologue": "opener",
    "parameters": "variables",
    "empty_response": "empty_response",
    "quote": "show_quote",
}
# top-level retrieval setting -> the earlier ``prompt`` key
_RETRIEVAL_KEYS = {
    "similarity_threshold": "similarity_threshold",
    "top_n": "top_n",
    "top_k": "top_k",
    "rerank_id": "rerank_model",
}


def _put(target: dict[str, Any], key: str, value: Any, new: str, old: str) -> None:
    if key in target:
        raise InvalidArgument(f"`{new}` and `{old}` set the same thing: give one of them")
    target[key] = value


def fold_later_fields(fields: dict[str, Any]) -> dict[str, Any]:
    """``fields`` with the later spelling moved into ``avatar``, ``llm`` and ``prompt``;
    ``InvalidArgument`` (101) when one request sets the same thing in both spellings."""
    folded = {k: v for k, v in fields.items() if k not in ("llm", "prompt")}
    llm = dict(fields.get("llm") or {})
    prompt = dict(fields.get("prompt") or {})
    if "icon" in folded:
        icon = folded.pop("icon")
        _put(folded, "avatar", icon, "icon", "avatar")
    if "llm_id" in folded:
        _put(llm, "model_name", folded.pop("llm_id"), "llm_id", "llm.model_name")
    for key, value in (folded.pop("llm_setting", None) or {}).items():
        _put(llm, key, value, f"llm_setting.{key}", f"llm.{key}")
    for key, value in (folded.pop("prompt_config", None) or {}).items():
        old = _PROMPT_CONFIG_KEYS[key]
        _put(prompt, old, value, f"prompt_config.{key}", f"prompt.{old}")
    for key, old in _RETRIEVAL_KEYS.items():
        if key in folded:
            _put(prompt, old, folded.pop(key), key, f"prompt.{old}")
    if "vector_similarity_weight" in folded:
        weight = folded.pop("vector_similarity_weight")
        keywords_weight = None if weight is None else round(1.0 - float(weight), 6)
        _put(
            prompt,
            "keywords_similarity_weight",
            keywords_weight,
            "vector_similarity_weight",
            "prompt.keywords_similarity_weight",
        )
    if llm or "llm" in fields:
        folded["llm"] = llm
    if prompt or "prompt" in fields:
        folded["prompt"] = prompt
    return folded


def later_json(
    *,
    avatar: str,
    llm_id: str,
    llm_setting: dict[str, Any],
    prompt_config: dict[str, Any],
    similarity_threshold: float,
    vector_similarity_weight: float,
    top_n: int,
    rerank_id: str,
) -> dict[str, Any]:
    """An assistant's settings under the later names (RAGFlow's stored ones)."""
    return {
        "icon": avatar,
        "llm_id": llm_id,
        "llm_setting": dict(llm_setting),
        "prompt_config": {key: prompt_config.get(key) for key in _PROMPT_CONFIG_KEYS},
        "similarity_threshold": similarity_threshold,
        "vector_similarity_weight": vector_similarity_weight,
        "top_n": top_n,
        "rerank_id": rerank_id,
    }

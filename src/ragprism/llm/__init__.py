"""Model providers: one small interface per model kind, built-in and OpenAI-compatible.

Build models from stored settings with the ``build_*`` functions; program against the
protocols (``ChatModel``, ``EmbeddingModel``, ...), never a provider class.
"""

from ragprism.llm.base import (
    ChatDelta,
    ChatModel,
    ChatResult,
    ChatStream,
    EmbeddingModel,
    EmbeddingResult,
    Image2TextModel,
    Message,
    RerankModel,
    RerankResult,
    Speech2TextModel,
    TranscriptionResult,
    Usage,
)
from ragprism.llm.builtin import NOT_FOUND_ANSWER, ExtractiveChat, HashingEmbedding
from ragprism.llm.knowledge import (
    KnowledgeBlock,
    citation,
    format_knowledge_block,
    parse_knowledge,
)
from ragprism.llm.openai_compat import DEFAULT_IMAGE_PROMPT, list_models
from ragprism.llm.openai_http import ProviderEndpoint, RetryPolicy
from ragprism.llm.registry import (
    PROVIDERS,
    build_chat,
    build_embedding,
    build_image2text,
    build_rerank,
    build_speech2text,
)
from ragprism.llm.tokens import count_message_tokens, count_tokens

__all__ = [
    "DEFAULT_IMAGE_PROMPT",
    "NOT_FOUND_ANSWER",
    "PROVIDERS",
    "ChatDelta",
    "ChatModel",
    "ChatResult",
    "ChatStream",
    "EmbeddingModel",
    "EmbeddingResult",
    "ExtractiveChat",
    "HashingEmbedding",
    "Image2TextModel",
    "KnowledgeBlock",
    "Message",
    "ProviderEndpoint",
    "RerankModel",
    "RerankResult",
    "RetryPolicy",
    "Speech2TextModel",
    "TranscriptionResult",
    "Usage",
    "build_chat",
    "build_embedding",
    "build_image2text",
    "build_rerank",
    "build_speech2text",
    "citation",
    "count_message_tokens",
    "count_tokens",
    "format_knowledge_block",
    "list_models",
    "parse_knowledge",
]

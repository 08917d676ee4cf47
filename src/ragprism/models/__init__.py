"""ORM models. Importing this package registers every table on ``Base.metadata``."""

from ragprism.models.answer_record import AnswerRecord, UsageDay
from ragprism.models.audit import AuditEvent
from ragprism.models.chat import Chat, ChatMessage, ChatSession
from ragprism.models.dataset import (
    VIRTUAL_DOCUMENT_TYPE,
    Chunk,
    ChunkIndexVersion,
    Dataset,
    Document,
    DocumentBlob,
    DocumentRun,
    Permission,
)
from ragprism.models.langfuse import TenantLangfuse
from ragprism.models.llm import TenantLlm
from ragprism.models.token import ApiToken, LoginToken
from ragprism.models.user import Role, Tenant, User, UserTenant

__all__ = [
    "VIRTUAL_DOCUMENT_TYPE",
    "AnswerRecord",
    "ApiToken",
    "AuditEvent",
    "Chat",
    "ChatMessage",
    "ChatSession",
    "Chunk",
    "ChunkIndexVersion",
    "Dataset",
    "Document",
    "DocumentBlob",
    "DocumentRun",
    "LoginToken",
    "Permission",
    "Role",
    "Tenant",
    "TenantLangfuse",
    "TenantLlm",
    "UsageDay",
    "User",
    "UserTenant",
]

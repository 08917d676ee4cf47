"""ORM models. Importing this package registers every table on ``Base.metadata``."""

from ragprism.models.langfuse import TenantLangfuse
from ragprism.models.token import ApiToken, LoginToken
from ragprism.models.user import Role, Tenant, User, UserTenant

__all__ = ["ApiToken", "LoginToken", "Role", "Tenant", "TenantLangfuse", "User", "UserTenant"]

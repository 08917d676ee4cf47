"""The logic, free of HTTP: one sub-package per domain.

`accounts` (users, teams, API keys, key rotation), `observability` (the tenant's Langfuse
configuration and trace destinations), `knowledge` (datasets, documents, chunks, parsing,
retrieval), `chat` (assistants, sessions, completions and their streams) and `models`
(tenant model providers and usage). `context.ServiceContext` is what they need from the
process; they never import `ragprism.api` or `ragprism.runtime`.
"""

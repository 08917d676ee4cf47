"""ragprism: a multi-tenant RAG chat server with per-tenant Langfuse tracing."""

__version__ = "0.1.0"

"""Tenant model providers and defaults (built-in, OpenAI-compatible), prices, and the usage
records kept per call."""

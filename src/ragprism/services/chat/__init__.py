"""Asking questions: assistants and their RAGFlow dialects, sessions, the conversation and
completion flow (prompt, retrieval, generation, tracing), SSE shaping, transcription."""

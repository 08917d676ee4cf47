"""Retrieval-augmented generation: document parsing and chunking."""

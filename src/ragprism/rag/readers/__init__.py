"""One reader per file format: bytes or text in, sections out (see ``rag.parsing``)."""

"""Talking to a running ragprism server over its HTTP API (the ``ingest`` and ``ask``
commands); nothing here touches the database or the server's internals."""

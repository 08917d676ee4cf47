"""What the services need from the process they run in, as a protocol.

The composition root (`ragprism.runtime.Runtime`) satisfies it; services depend on this
narrow face instead of importing the root, so arrows point down only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from ragprism.db import Database
    from ragprism.retrieval import ChunkStore
    from ragprism.services.models.model_settings import ModelSettingsService
    from ragprism.tracing import TracingEngine


class Wakeable(Protocol):
    """Something that sleeps between polls and can be told there is work (the parse worker)."""

    def wake(self) -> None: ...


class ServiceContext(Protocol):
    """The collaborators shared by the knowledge and chat services."""

    @property
    def db(self) -> Database: ...

    @property
    def store(self) -> ChunkStore: ...

    @property
    def models(self) -> ModelSettingsService: ...

    @property
    def tracing(self) -> TracingEngine: ...

    @property
    def parse_worker(self) -> Wakeable | None: ...

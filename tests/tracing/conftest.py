"""Fixtures for the tracing engine tests (against the Langfuse test server over HTTP)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from ragprism.tracing import ExportStatsRegistry, RetryPolicy, TracingEngine
from tests.tracing.helpers import DictSource

FAST_RETRY = RetryPolicy(base=0.05, cap=0.2, attempts=3, unauthorized_probe=60.0)

EngineFactory = Callable[..., TracingEngine]


@pytest.fixture
def source() -> DictSource:
    return DictSource()


@pytest.fixture
def make_engine(tmp_path: Path, source: DictSource) -> Iterator[EngineFactory]:
    """Builds started engines with short intervals; shuts them down afterwards."""
    engines: list[TracingEngine] = []

    def factory(**overrides: Any) -> TracingEngine:
        options: dict[str, Any] = {
            "source": source,
            "stats": ExportStatsRegistry(),
            "spool_path": tmp_path / "spool.db",
            "flush_interval": 0.05,
            "refresh_interval": 0.2,
            "export_timeout": 1.0,
            "retry": FAST_RETRY,
        }
        options.update(overrides)
        start = options.pop("start", True)
        engine = TracingEngine(**options)
        engines.append(engine)
        if start:
            engine.start()
        return engine

    yield factory
    for engine in engines:
        engine.shutdown(deadline=2.0)


@pytest.fixture
def engine(make_engine: EngineFactory) -> TracingEngine:
    return make_engine()

"""RAGFlow routes ragprism does not implement: a JSON error that says so.

Agents, knowledge graphs, RAPTOR, memories, the file manager, search apps and text to
speech are out of scope (SPEC §4, §8). A RAGFlow client calling one gets RAGFlow's
envelope naming the missing feature, not a bare "Not Found" that reads like a typo.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from ragprism.api.envelope import failure
from ragprism.errors import RetCode

router = APIRouter(prefix="/api/v1", include_in_schema=False)

_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]
# path -> the feature it belongs to
UNSUPPORTED = {
    "/agents": "agents",
    "/agents/{rest:path}": "agents",
    "/agents_openai/{rest:path}": "agents",
    "/agentbots/{rest:path}": "agents",
    "/datasets/{dataset_id}/knowledge_graph": "knowledge graphs",
    "/datasets/{dataset_id}/run_graphrag": "knowledge graphs",
    "/datasets/{dataset_id}/trace_graphrag": "knowledge graphs",
    "/datasets/{dataset_id}/run_raptor": "RAPTOR",
    "/datasets/{dataset_id}/trace_raptor": "RAPTOR",
    "/memories": "memories",
    "/memories/{rest:path}": "memories",
    "/messages": "memories",
    "/messages/{rest:path}": "memories",
    "/file/{rest:path}": "the file manager",
    "/files": "the file manager",
    "/files/{rest:path}": "the file manager",
    "/searches": "search apps",
    "/searches/{rest:path}": "search apps",
    "/searchbots/{rest:path}": "search apps",
    "/chat/audio/speech": "text to speech",
}


def _refusal(feature: str) -> JSONResponse:
    message = (
        f"Not supported: ragprism does not implement RAGFlow's {feature} "
        "(see docs/api.md, 'RAGFlow compatibility')."
    )
    return failure(RetCode.NOT_FOUND, message, 404)


def _add(path: str, feature: str) -> None:
    async def unsupported() -> JSONResponse:
        return _refusal(feature)

    router.add_api_route(path, unsupported, methods=_METHODS, name=f"unsupported {path}")


for _path, _feature in UNSUPPORTED.items():
    _add(_path, _feature)

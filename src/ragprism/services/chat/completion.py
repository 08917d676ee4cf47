"""The RAG answer pipeline behind every completion route.

``prepare`` retrieves from the assistant's datasets with its prompt settings and builds
the prompt as RAGFlow's ``chat()`` does (the chunks rendered by ``kb_prompt`` into the
``{knowledge}`` variable of the system prompt, plus the citation instructions when
quotes are on). ``complete`` answers in one go; ``stream`` answers piece by piece and
always reports how it ended (done, error, or abandoned by the client) to ``on_end``,
so the produced text is stored whatever happens.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from ragprism.errors import RagprismError, RetCode
from ragprism.llm import ChatModel, Message, Usage, count_message_tokens, count_tokens
from ragprism.llm.pricing import ModelPrice
from ragprism.models import Chat
from ragprism.services.chat.rag_prompt import (
    KNOWLEDGE_TOKEN_BUDGET,
    bounded_history,
    build_reference,
    knowledge_text,
    reference_chunk,
    repair_citations,
    system_prompt,
    within_budget,
)
from ragprism.services.knowledge.retrieval import RetrievalRequest, retrieve
from ragprism.services.models.model_usage import record_usage
from ragprism.tracing import NoopTrace

if TYPE_CHECKING:
    from ragprism.services.context import ServiceContext
    from ragprism.tracing import Observation, Trace

_NOOP = NoopTrace()

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ChatConfig:
    """What an answer needs from an assistant; a plain snapshot, usable after the request."""

    llm_id: str | None
    llm_setting: dict[str, Any] = field(default_factory=dict)
    system: str = ""
    parameters: list[dict[str, Any]] = field(default_factory=list)
    empty_response: str = ""
    quote: bool = True
    dataset_ids: list[str] = field(default_factory=list)
    similarity_threshold: float = 0.2
    vector_similarity_weight: float = 0.3
    top_n: int = 6
    top_k: int = 1024
    rerank_id: str = ""
    chat_id: str | None = None

    @classmethod
    def of(
        cls, chat: Chat, llm_id: str | None = None, llm_setting: dict[str, Any] | None = None
    ) -> ChatConfig:
        """The settings of an assistant (``llm_id`` overrides its model, ``llm_setting``
        some of its model settings)."""
        config = chat.prompt_config or {}
        return cls(
            llm_id=llm_id or chat.llm_id,
            llm_setting={**(chat.llm_setting or {}), **(llm_setting or {})},
            system=str(config.get("system", "")),
            parameters=list(config.get("parameters", [])),
            empty_response=str(config.get("empty_response") or ""),
            quote=bool(config.get("quote", True)),
            dataset_ids=list(chat.dataset_ids or []),
            similarity_threshold=chat.similarity_threshold,
            vector_similarity_weight=chat.vector_similarity_weight,
            top_n=chat.top_n,
            top_k=chat.top_k,
            rerank_id=chat.rerank_id,
            chat_id=chat.id,
        )


@dataclass(frozen=True)
class PreparedAnswer:
    """Everything decided before the model is called."""

    model: ChatModel
    messages: list[dict[str, Any]]
    options: dict[str, Any]
    chunks: list[dict[str, Any]]
    doc_aggs: list[dict[str, Any]]
    prompt: str
    quote: bool
    fixed_answer: str | None = None  # the assistant's empty_response: no model call
    price: ModelPrice | None = None  # the model's, for the cost of the generation


@dataclass(frozen=True)
class Answer:
    """A finished answer, citations repaired, with its reference."""

    text: str
    reference: dict[str, Any]
    usage: Usage
    model: str
    finish_reason: str | None


@dataclass(frozen=True)
class Piece:
    """A new piece of a streamed answer and the answer so far."""

    delta: str
    answer: str


@dataclass(frozen=True)
class Finished:
    answer: Answer


@dataclass(frozen=True)
class Failed:
    """The model failed; ``partial`` is what it produced before."""

    code: int
    message: str
    partial: str


StreamEvent = Piece | Finished | Failed


@dataclass(frozen=True)
class StreamOutcome:
    """How a stream ended: ``done``, ``error`` (``error`` says why) or ``disconnected``
    (the client left)."""

    text: str
    status: str
    reference: dict[str, Any] | None
    error: BaseException | None = None


# -- preparing ---------------------------------------------------------------------------


def prepare(
    session: Session,
    state: ServiceContext,
    tenant_id: str,
    config: ChatConfig,
    question: str,
    history: Sequence[Message] = (),
    *,
    parent: Trace | Observation | None = None,
) -> PreparedAnswer:
    """Retrieve, build the prompt and pick the model; raises domain errors only.

    With a ``parent`` trace or observation the retrieval is recorded under it.
    """
    model = state.models.chat(session, tenant_id, config.llm_id)
    price = state.models.price(model)
    chunks: list[dict[str, Any]] = []
    doc_aggs: list[dict[str, Any]] = []
    wants_knowledge = any(p.get("key") == "knowledge" for p in config.parameters)
    if config.dataset_ids and wants_knowledge:
        found = retrieve(
            session,
            state,
            tenant_id,
            RetrievalRequest(
                question=question,
                dataset_ids=config.dataset_ids,
                page_size=max(config.top_n, 1),
                similarity_threshold=config.similarity_threshold,
                vector_similarity_weight=config.vector_similarity_weight,
                top_k=config.top_k,
                rerank_id=config.rerank_id or None,
            ),
            parent=parent,
        )
        chunks = [reference_chunk(c) for c in within_budget(found.chunks, KNOWLEDGE_TOKEN_BUDGET)]
        doc_aggs = found.doc_aggs
    options = {k: v for k, v in config.llm_setting.items() if v is not None}
    if config.dataset_ids and wants_knowledge and not chunks and config.empty_response:
        return PreparedAnswer(
            model,
            [],
            options,
            [],
            [],
            f"\n\n### Query:\n{question}",
            config.quote,
            fixed_answer=config.empty_response,
            price=price,
        )
    system = system_prompt(config.system, config.parameters, knowledge_text(chunks), config.quote)
    messages: list[dict[str, Any]] = [{"role": "system", "content": system}] if system else []
    messages += bounded_history(history)
    messages.append({"role": "user", "content": question})
    prompt = system + f"\n\n### Query:\n{question}"
    return PreparedAnswer(
        model, messages, options, chunks, doc_aggs, prompt, config.quote, price=price
    )


# -- answering ---------------------------------------------------------------------------


def decorate(text: str, prepared: PreparedAnswer) -> tuple[str, dict[str, Any]]:
    """Citations repaired (or removed without quotes) and the reference to return."""
    text = repair_citations(text, len(prepared.chunks), prepared.quote)
    return text, build_reference(text, prepared.chunks, prepared.doc_aggs)


def _fixed(prepared: PreparedAnswer, text: str) -> Answer:
    usage = Usage.of(0, count_tokens(text), estimated=True)
    empty = {"total": 0, "chunks": [], "doc_aggs": []}
    return Answer(text, empty, usage, prepared.model.model_name, "stop")


def _generation(parent: Trace | Observation, prepared: PreparedAnswer) -> Observation:
    """The ``chat`` generation observation of a model call (use it with ``with``)."""
    return parent.observation(
        "chat",
        kind="generation",
        input=prepared.messages,
        model=prepared.model.model_name,
        model_parameters=prepared.options,
    )


def _record(generation: Observation, answer: Answer, price: ModelPrice | None) -> None:
    generation.update(output=answer.text, model=answer.model)
    record_usage(generation, answer.usage, price)


def complete(prepared: PreparedAnswer, *, parent: Trace | Observation | None = None) -> Answer:
    """The whole answer (``UpstreamUnavailable`` and friends propagate).

    With a ``parent`` the model call is recorded under it as the ``chat`` generation.
    """
    if prepared.fixed_answer is not None:
        return _fixed(prepared, prepared.fixed_answer)
    with _generation(parent or _NOOP, prepared) as generation:
        result = prepared.model.chat(prepared.messages, **prepared.options)
        text, cited = decorate(result.text, prepared)
        answer = Answer(text, cited, result.usage, result.model, result.finish_reason)
        _record(generation, answer, prepared.price)
    return answer


def stream(
    prepared: PreparedAnswer,
    on_end: Callable[[StreamOutcome], None],
    *,
    parent: Trace | Observation | None = None,
) -> Generator[StreamEvent, None, None]:
    """The answer piece by piece, then ``Finished`` or ``Failed``.

    ``on_end`` is called exactly once with what was produced — also when the consumer
    closes the generator early (a client that went away). With a ``parent`` the model
    call is recorded under it as the ``chat`` generation, ended on every path.
    """
    produced: list[str] = []
    outcome = StreamOutcome("", "disconnected", None)
    chat_stream = None
    try:
        if prepared.fixed_answer is not None:
            answer = _fixed(prepared, prepared.fixed_answer)
            produced.append(answer.text)
            yield Piece(answer.text, answer.text)
        else:
            with _generation(parent or _NOOP, prepared) as generation:
                try:
                    chat_stream = prepared.model.stream(prepared.messages, **prepared.options)
                    usage: Usage | None = None
                    model, finish_reason = prepared.model.model_name, None
                    for delta in chat_stream:
                        if delta.final:
                            usage, finish_reason = delta.usage, delta.finish_reason
                            model = delta.model or model
                        elif delta.text:
                            if not produced:
                                generation.update(completion_start_time=datetime.now(UTC))
                            produced.append(delta.text)
                            yield Piece(delta.text, "".join(produced))
                    text, cited = decorate("".join(produced), prepared)
                    usage = usage or Usage.of(
                        count_message_tokens(prepared.messages), count_tokens(text), estimated=True
                    )
                    answer = Answer(text, cited, usage, model, finish_reason)
                    _record(generation, answer, prepared.price)
                except BaseException as exc:
                    partial = "".join(produced)
                    generation.update(output=partial)
                    if isinstance(exc, GeneratorExit):  # the client left: the provider
                        # billed the prompt and what was streamed; count them locally
                        usage = Usage.of(
                            count_message_tokens(prepared.messages),
                            count_tokens(partial),
                            estimated=True,
                        )
                        record_usage(generation, usage, prepared.price)
                    raise
        outcome = StreamOutcome(answer.text, "done", answer.reference)
        yield Finished(answer)
    except RagprismError as exc:
        outcome = StreamOutcome("".join(produced), "error", None, exc)
        yield Failed(int(exc.code), exc.message, "".join(produced))
    except Exception as exc:  # a bug or an unexpected library error: report it, keep the text
        log.exception("chat stream failed")
        outcome = StreamOutcome("".join(produced), "error", None, exc)
        yield Failed(int(RetCode.SERVER_ERROR), "Internal server error.", "".join(produced))
    finally:
        if chat_stream is not None:
            chat_stream.close()
        if outcome.status == "disconnected":
            outcome = StreamOutcome("".join(produced), "disconnected", None)
        try:
            on_end(outcome)
        except Exception:
            log.exception("storing a streamed answer failed")

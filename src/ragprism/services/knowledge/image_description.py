"""Describing an image document with the tenant's image-to-text model (SPEC §4, §5).

The description is the image's text: ingestion chunks, embeds and indexes it like any
other document's. Each description is its own ``image2text`` trace (root → ``image2text``
generation), linked both ways with the ``ingest`` trace of the document: its metadata
names the document, dataset and ingest trace, and the ingest trace's ``parse`` span
names it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ragprism.errors import DataError
from ragprism.llm import DEFAULT_IMAGE_PROMPT
from ragprism.rag.images import IMAGE_TYPES_LABEL, image_mime
from ragprism.rag.parsing import CorruptDocument
from ragprism.services.models.model_usage import record_usage

if TYPE_CHECKING:
    from ragprism.services.context import ServiceContext
    from ragprism.tracing import Observation

IMAGE_PROMPT = DEFAULT_IMAGE_PROMPT


@dataclass(frozen=True)
class ImageDocument:
    """The image to describe and where it belongs."""

    tenant_id: str
    dataset_id: str
    document_id: str
    name: str
    data: bytes
    user_id: str | None = None  # who uploaded it: the trace's user (never an e-mail)


@dataclass(frozen=True)
class ImageDescription:
    """A description; ``trace_id`` is None when the tenant does not trace."""

    text: str
    trace_id: str | None
    model_id: str = ""


def no_model_message(name: str) -> str:
    """Why an image cannot be parsed when the tenant has no image-to-text model."""
    return (
        f"{name} is an image: describing it needs an image-to-text model, and none is "
        "configured for this tenant. Add one (POST /v1/llm/add_llm, model_type "
        "image2text) and make it the default (img2txt_id in POST /v1/user/set_tenant_info)."
    )


def describe_image(
    state: ServiceContext,
    image: ImageDocument,
    *,
    link: Observation,
    ingest_trace_id: str | None = None,
) -> ImageDescription:
    """The description of ``image`` by the tenant's default image-to-text model.

    ``link`` (the ingest trace's ``parse`` span) gets the id of the ``image2text`` trace
    as soon as it starts, so a failed description can be found from the ingest trace too.
    ``DataError`` without a model, for bytes that are no image, or for an empty
    description; the provider's errors propagate.
    """
    mime = image_mime(image.data)
    if mime is None:
        raise CorruptDocument(image.name, "image", f"it is not a {IMAGE_TYPES_LABEL} image")
    with state.db.session() as session:
        try:
            model_id = state.models.model_id_for(session, image.tenant_id, "image2text", None)
        except DataError:
            raise DataError(no_model_message(image.name)) from None
        model = state.models.image2text(session, image.tenant_id, model_id)
    price = state.models.price(model)
    described = {"file": image.name, "bytes": len(image.data), "content_type": mime}
    with state.tracing.tracer.trace(
        "image2text",
        tenant_id=image.tenant_id,
        user_id=image.user_id,
        input=described,
        tags=[model_id],
        metadata={
            "document_id": image.document_id,
            "dataset_ids": [image.dataset_id],
            "ingest_trace_id": ingest_trace_id,
        },
    ) as trace:
        if trace.trace_id:
            link.update(metadata={"image2text_trace_id": trace.trace_id})
        with trace.observation(
            "image2text",
            kind="generation",
            input={**described, "prompt": IMAGE_PROMPT},
            model=model.model_name,
        ) as generation:
            result = model.describe(image.data, mime, IMAGE_PROMPT)
            text = result.text.strip()
            generation.update(output=text, model=result.model)
            record_usage(generation, result.usage, price)
            if not text:
                raise DataError(f"the image-to-text model returned no description of {image.name}")
        trace.update(output=text)
    return ImageDescription(text, trace.trace_id, model_id)

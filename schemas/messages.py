"""Reading MQTT messages (CONTRACT section 4) as the untrusted input they are, at hub and post.

Every message is parsed with limits: a size cap, a JSON parser with a nesting bound (pydantic's
own, 200 levels, in Rust: deep brackets cannot blow Python's stack), and strict validation
against the event, status and ack models, each event's `data` and `pii` against the model of its
type. A message that fails is refused whole with a reason that names the field and never echoes
the value (it may hold a name or a phone number).
"""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from functools import cache
from typing import Annotated, Any, Literal, TypeVar, Union, get_args, get_origin

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    create_model,
)
from pydantic_core import SchemaValidator, from_json

from .events import EVENT_DATA, IncidentPii, PreapprovalPii, TextPii, VisitPii

MAX_BATCH_BYTES = 256 * 1024  # CONTRACT 4: one events message is at most 256 KiB
MAX_STATUS_BYTES = 16 * 1024  # a status is about 150 bytes
MAX_ACK_BYTES = 1024
MAX_DOWN_BYTES = MAX_BATCH_BYTES
MAX_SEQ = 2**63 - 1  # SQLite's INTEGER
# names of the time fields of events and their data: each must be RFC 3339 with an offset, since
# the hub's pages and reports parse them
TIME_FIELDS = frozenset(
    {
        "at",
        "checked_in_at",
        "checked_out_at",
        "answered_at",
        "occurred_at",
        "due_at",
        "older_than",
        "valid_from",
        "valid_until",
        "reply_by",
    }
)
EVENT_PII: dict[str, Any] = {
    "visit.registered": VisitPii | None,
    "preapproval.created": PreapprovalPii | None,
    "incident.opened": IncidentPii | None,
    **dict.fromkeys(
        (
            "visit.confirmation",
            "door.event",
            "incident.entry",
            "incident.status",
            "incident.severity",
            "shift.note",
        ),
        TextPii | None,
    ),
}


def _holds_float(annotation: Any) -> bool:
    if annotation is float:
        return True
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return any(_holds_float(f.annotation) for f in annotation.model_fields.values())
    return any(_holds_float(a) for a in get_args(annotation))


# the event types whose data has no float anywhere (`canonical.canonical_text_floatless`)
FLOATLESS = frozenset(kind for kind, data in EVENT_DATA.items() if not _holds_float(data))


class UnreadableMessage(ValueError):
    """A message refused before anything of it is used; `str()` is the reason (no values)."""


def _time(text: str) -> str:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError("not an RFC 3339 time") from None
    if moment.tzinfo is None:
        raise ValueError("a time without a UTC offset")
    if not 1970 <= moment.year <= 9998:  # a Pi without a clock starts at 1970; 9999 overflows
        raise ValueError("a time outside the years 1970 to 9998")
    return text


Time = Annotated[str, AfterValidator(_time)]


def _timed(annotation: Any) -> Any:
    """`annotation` with its time fields checked as times, its enums as literals (strict
    validation of plain JSON values) and its models made so too, recursively."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return _timed_model(annotation)
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return Literal[tuple(member.value for member in annotation)]
    if get_origin(annotation) is not None and type(None) in get_args(annotation):
        inner = [a for a in get_args(annotation) if a is not type(None)]
        if len(inner) == 1:
            return _timed(inner[0]) | None
    return annotation


@cache
def _timed_model(model: type[BaseModel]) -> type[BaseModel]:
    fields: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        annotation = info.annotation
        if name in TIME_FIELDS and annotation is str:
            annotation = Time
        elif name in TIME_FIELDS and annotation == str | None:
            annotation = Time | None
        else:
            annotation = _timed(annotation)
        if annotation is not info.annotation:
            fields[name] = (annotation, info)
    if not fields:
        return model
    timed: type[BaseModel] = create_model(model.__name__, __base__=model, **fields)
    return timed


class _EventIn(BaseModel):
    """The fields every event has; `type`, `data` and `pii` are set per type below."""

    model_config = ConfigDict(extra="forbid", strict=True)

    seq: int = Field(ge=1, le=MAX_SEQ)
    id: str
    at: Time
    record_id: str
    pii_digest: str | None
    prev_hash: str
    hash: str


def _event_model(kind: str, data: type[BaseModel]) -> Any:
    fields: dict[str, Any] = {
        "type": (Literal[kind], ...),
        "data": (_timed_model(data), ...),
        "pii": (EVENT_PII.get(kind, None), ...),
    }
    return create_model(f"Event[{kind}]", __base__=_EventIn, **fields)


# one model per event type, chosen by `type` (a discriminated union: one dict lookup)
_ANY_EVENT: Any = Annotated[
    Union[tuple(_event_model(kind, data) for kind, data in EVENT_DATA.items())],  # noqa: UP007
    Field(discriminator="type"),
]
_BATCH_FIELDS: dict[str, Any] = {
    "site": (str, ...),
    "device": (str, ...),
    "events": (list[_ANY_EVENT], ...),
}
# `guardpost/v1/{site}/{device}/events`
BatchIn = create_model(
    "BatchIn", __config__=ConfigDict(extra="forbid", strict=True), **_BATCH_FIELDS
)


class StatusIn(BaseModel):
    """`guardpost/v1/{site}/{device}/status` (retained). A newer post may send more fields."""

    model_config = ConfigDict(extra="ignore", strict=True)

    online: bool
    last_seq: int = Field(ge=0, le=MAX_SEQ)
    acked_seq: int = Field(default=0, ge=0, le=MAX_SEQ)
    backlog: int = Field(default=0, ge=0, le=MAX_SEQ)
    clock: Time | None = None
    version: str = Field(default="", max_length=64)
    disk_free_mb: int | None = Field(default=None, ge=0, le=MAX_SEQ)  # None: an older post


class AckIn(BaseModel):
    """`guardpost/v1/{site}/{device}/ack`."""

    model_config = ConfigDict(extra="ignore", strict=True)

    acked_seq: int = Field(ge=0, le=MAX_SEQ)


_BATCH = TypeAdapter(BatchIn)
_STATUS = TypeAdapter(StatusIn)
_ACK = TypeAdapter(AckIn)
M = TypeVar("M", bound=BaseModel)


def _reason(exc: ValidationError) -> str:
    """Where and what, never the value: `events.3.visit.registered.data.unit: missing`."""
    first = exc.errors(include_url=False, include_input=False)[0]
    if first["type"] == "json_invalid":  # as `read_json` says it
        return "not JSON, or nested too deeply"
    where = ".".join(str(part) for part in first["loc"])
    reason = f"{where}: {first['type']}" if where else str(first["type"])
    return reason[:200]  # a path holds the message's own keys: keep it short


def _check_size(raw: bytes, limit: int) -> None:
    if len(raw) > limit:
        raise UnreadableMessage(f"message of {len(raw)} bytes, over the {limit} byte limit")


def _as_dicts(schema: Any) -> Any:
    """A core schema whose models check the same fields but give plain dicts: each holds what
    was sent and nothing more (no default filled in, an integer where a float may be stays an
    integer), the values the chain is checked on."""
    if isinstance(schema, list):
        return [_as_dicts(part) for part in schema]
    if not isinstance(schema, dict):
        return schema
    if schema.get("type") == "model":
        extra = schema.get("config", {}).get("extra_fields_behavior")
        return {
            "type": "typed-dict",
            "fields": {name: _dict_field(f) for name, f in schema["schema"]["fields"].items()},
            "extra_behavior": "forbid" if extra == "forbid" else "allow",
        }
    if schema.get("type") == "float":  # refused as a float is: at the field, `float_type`
        bounds = {k: v for k, v in schema.items() if k in ("ge", "gt", "le", "lt")}
        return {
            "type": "union",
            "choices": [{"type": "int", "strict": True, **bounds}, schema],
            "custom_error_type": "float_type",
        }
    return {key: _as_dicts(value) for key, value in schema.items()}


def _dict_field(field: dict[str, Any]) -> dict[str, Any]:
    inner, required = field["schema"], True
    if inner.get("type") == "default":  # absent stays absent
        inner, required = inner["schema"], False
    return {"type": "typed-dict-field", "schema": _as_dicts(inner), "required": required}


# BatchIn's checks, read straight from the message's bytes into plain dicts (in Rust: no model
# objects to build and throw away)
_BATCH_DICTS = SchemaValidator(_as_dicts(_BATCH.core_schema))


def read_batch(raw: bytes) -> dict[str, Any]:
    """An events message as plain JSON values (as hashed and stored), once it has passed every
    check; else UnreadableMessage."""
    _check_size(raw, MAX_BATCH_BYTES)
    try:
        batch: dict[str, Any] = _BATCH_DICTS.validate_json(raw, strict=True)
    except ValidationError as exc:
        raise UnreadableMessage(_reason(exc)) from None
    return batch


def read_status(raw: bytes) -> StatusIn:
    return _read(_STATUS, raw, MAX_STATUS_BYTES)


def read_ack(raw: bytes) -> AckIn:
    return _read(_ACK, raw, MAX_ACK_BYTES)


def _read(adapter: TypeAdapter[M], raw: bytes, limit: int) -> M:
    _check_size(raw, limit)
    try:
        return adapter.validate_json(raw, strict=True)
    except ValidationError as exc:
        raise UnreadableMessage(_reason(exc)) from None


def read_json(raw: bytes, limit: int) -> Any:
    """Any JSON message, size- and depth-bounded (pydantic's parser: 200 levels at most)."""
    _check_size(raw, limit)
    try:
        return from_json(raw)
    except ValueError:
        raise UnreadableMessage("not JSON, or nested too deeply") from None

"""The API's objects as typed dataclasses, built from the JSON answers. Amounts are ``Decimal``
(the API writes them as strings); times are aware ``datetime``; ``raw`` keeps the whole answer."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Generic, TypeVar

__all__ = [
    "FINAL_STATUSES", "Asset", "Charge", "Job", "JobError", "JobEvent", "JobOutput", "Model", "Page",
    "Quote", "QuoteEstimate", "Usage", "UsageGroup", "UsageTotal",
]

FINAL_STATUSES = frozenset({"succeeded", "failed", "canceled"})
T = TypeVar("T")


def _time(value: str | None) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(value[:-1] + "+00:00" if value.endswith("Z") else value)


def _dec(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


@dataclass(frozen=True)
class Asset:
    id: str
    kind: str
    content_type: str
    size_bytes: int
    width: int | None
    height: int | None
    duration_s: float | None
    original_name: str
    sha256: str
    created_at: datetime | None
    raw: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Asset:
        return cls(id=str(d["id"]), kind=d["kind"], content_type=d.get("content_type", ""),
                   size_bytes=int(d.get("size_bytes") or 0), width=d.get("width"), height=d.get("height"),
                   duration_s=d.get("duration_s"), original_name=d.get("original_name", ""),
                   sha256=d.get("sha256", ""), created_at=_time(d.get("created_at")), raw=d)


@dataclass(frozen=True)
class QuoteEstimate:
    """A job's quote as stored on the job."""

    amount: Decimal
    currency: str
    seconds: float | None


@dataclass(frozen=True)
class JobOutput:
    url: str
    duration_s: float | None
    width: int | None
    height: int | None
    frames: int | None
    size_bytes: int | None
    content_type: str


@dataclass(frozen=True)
class Charge:
    amount: Decimal
    currency: str
    seconds: float
    billable_seconds: float
    livemode: bool


@dataclass(frozen=True)
class JobError:
    code: str
    message: str


@dataclass(frozen=True)
class JobEvent:
    at: datetime | None
    from_status: str
    to_status: str
    message: str


@dataclass(frozen=True)
class Job:
    id: str
    model: str
    provider: str
    emulated: bool
    livemode: bool
    status: str
    input: dict[str, Any]
    quote: QuoteEstimate | None
    output: JobOutput | None
    charge: Charge | None
    error: JobError | None
    progress: float | None
    queue_position: int | None
    events: list[JobEvent]
    created_at: datetime | None
    started_at: datetime | None
    completed_at: datetime | None
    raw: dict[str, Any] = field(repr=False, compare=False)

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATUSES

    @property
    def succeeded(self) -> bool:
        return self.status == "succeeded"

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Job:
        q, o, c, e = d.get("quote"), d.get("output"), d.get("charge"), d.get("error")
        return cls(
            id=str(d["id"]), model=d.get("model", ""), provider=d.get("provider", ""),
            emulated=bool(d.get("emulated")), livemode=bool(d.get("livemode", True)), status=d["status"],
            input=d.get("input") or {},
            quote=QuoteEstimate(Decimal(str(q["amount"])), q.get("currency", ""), q.get("seconds"))
            if q and q.get("amount") is not None else None,
            output=JobOutput(o["url"], o.get("duration_s"), o.get("width"), o.get("height"), o.get("frames"),
                             o.get("size_bytes"), o.get("content_type", "video/mp4")) if o else None,
            charge=Charge(Decimal(str(c["amount"])), c.get("currency", ""), c.get("seconds", 0.0),
                          c.get("billable_seconds", 0.0), bool(c.get("livemode"))) if c else None,
            error=JobError(e.get("code") or "", e.get("message") or "") if e else None,
            progress=d.get("progress"), queue_position=d.get("queue_position"),
            events=[JobEvent(_time(ev.get("at")), ev.get("from_status", ""), ev.get("to_status", ""),
                             ev.get("message", "")) for ev in d.get("events") or []],
            created_at=_time(d.get("created_at")), started_at=_time(d.get("started_at")),
            completed_at=_time(d.get("completed_at")), raw=d,
        )


@dataclass(frozen=True)
class Quote:
    """What a job body would cost (``POST /quotes``)."""

    model: str
    amount: Decimal
    currency: str
    billable_seconds: Decimal | None
    breakdown: dict[str, Any]
    raw: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Quote:
        return cls(model=d.get("model", ""), amount=Decimal(str(d["amount"])), currency=d.get("currency", ""),
                   billable_seconds=_dec(d.get("billable_seconds")), breakdown=d.get("breakdown") or {}, raw=d)


@dataclass(frozen=True)
class Model:
    id: str
    provider: str
    display_name: str
    description: str
    input_schema: dict[str, Any]
    limits: dict[str, Any]
    pricing: dict[str, Any]
    capabilities: dict[str, Any]
    emulated: bool
    docs_url: str
    raw: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Model:
        return cls(id=d["id"], provider=d.get("provider", ""), display_name=d.get("display_name", ""),
                   description=d.get("description", ""), input_schema=d.get("input_schema") or {},
                   limits=d.get("limits") or {}, pricing=d.get("pricing") or {},
                   capabilities=d.get("capabilities") or {}, emulated=bool(d.get("emulated")),
                   docs_url=d.get("docs_url", ""), raw=d)


@dataclass(frozen=True)
class UsageGroup:
    key: str | None
    label: str
    jobs: int
    charged: Decimal
    refunded: Decimal
    amount: Decimal


@dataclass(frozen=True)
class UsageTotal:
    amount: Decimal
    charged: Decimal
    refunded: Decimal
    currency: str


@dataclass(frozen=True)
class Usage:
    period: str
    group_by: str
    livemode: bool
    total: UsageTotal
    groups: list[UsageGroup]
    raw: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Usage:
        t = d["total"]
        return cls(
            period=d["period"], group_by=d["group_by"], livemode=bool(d.get("livemode")),
            total=UsageTotal(Decimal(str(t["amount"])), Decimal(str(t["charged"])), Decimal(str(t["refunded"])),
                             t.get("currency", "")),
            groups=[UsageGroup(g.get("key"), g.get("label", ""), int(g.get("jobs") or 0), Decimal(str(g["charged"])),
                               Decimal(str(g["refunded"])), Decimal(str(g["amount"]))) for g in d.get("groups") or []],
            raw=d,
        )


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a cursor-paginated list; ``next_cursor`` is None on the last page."""

    results: list[T]
    next_cursor: str | None
    previous_cursor: str | None

    def __iter__(self) -> Iterator[T]:
        return iter(self.results)

    def __len__(self) -> int:
        return len(self.results)

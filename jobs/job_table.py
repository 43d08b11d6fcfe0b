"""The dashboard's jobs table: one page of a tenant's jobs in one mode, newest first.

Pages are keyset pages on (created_at, id), like the API's cursor pages, so that the 2,000th page
costs what the first does, and nothing counts the tenant's rows. The rows carry only what the table
shows (the charge, who created the job, its still image for a thumbnail), fetched in a constant
number of queries whatever the page size."""

from __future__ import annotations

import base64
import binascii
import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo

from django.db.models import Prefetch, Q, QuerySet

from accounts.models import Tenant

from .models import ACTIVE_STATUSES, Asset, Job

PAGE_SIZE = 25
# A job id typed into the search box: the whole id, or its first characters (as the table shows 8).
MIN_ID_PREFIX = 4


@dataclass(frozen=True)
class JobTableQuery:
    status: str = ""
    model_id: str = ""
    api_key_id: int | None = None
    created_from: date | None = None  # days in the viewer's time zone, both included
    created_to: date | None = None
    search: str = ""  # a job id, or its first characters


@dataclass(frozen=True)
class JobTablePage:
    rows: list[Job]
    older: str | None  # the cursor of the next page (older jobs), None on the last
    newer: str | None  # the cursor of the previous page (newer jobs), None on the first

    @property
    def any_active(self) -> bool:
        return any(job.status in ACTIVE_STATUSES for job in self.rows)


def job_cursor(job: Job) -> str:
    """The position just past ``job``: opaque to the user, checked when read back."""
    raw = f"{job.created_at.isoformat()}|{job.id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def cursor_read(token: str | None) -> tuple[datetime, uuid.UUID] | None:
    """The position a cursor names, or None for a missing or malformed one (the first page)."""
    if not token or len(token) > 200:
        return None
    try:
        created, job_id = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode().split("|")
        when = datetime.fromisoformat(created)
        return (when, uuid.UUID(job_id)) if when.tzinfo else None
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return None


def id_search_range(text: str) -> tuple[uuid.UUID, uuid.UUID] | None:
    """The ids a search can mean: a whole id, or every id starting with the typed hex characters
    (an index range on the primary key, not a scan). None when the text cannot start an id."""
    digits = text.strip().lower().replace("-", "")
    if not MIN_ID_PREFIX <= len(digits) <= 32 or any(c not in "0123456789abcdef" for c in digits):
        return None
    return uuid.UUID(digits.ljust(32, "0")), uuid.UUID(digits.ljust(32, "f"))


def _filtered(*, tenant: Tenant, livemode: bool, query: JobTableQuery, tz: tzinfo) -> QuerySet[Job] | None:
    jobs = Job.objects.for_tenant(tenant).filter(livemode=livemode)
    if query.status:
        jobs = jobs.filter(status=query.status)
    if query.model_id:
        jobs = jobs.filter(model_id=query.model_id)
    if query.api_key_id is not None:
        jobs = jobs.filter(api_key_id=query.api_key_id)
    if query.created_from:
        jobs = jobs.filter(created_at__gte=datetime.combine(query.created_from, time.min, tzinfo=tz))
    if query.created_to:
        jobs = jobs.filter(created_at__lt=datetime.combine(query.created_to + timedelta(days=1), time.min, tzinfo=tz))
    if query.search:
        ids = id_search_range(query.search)
        if ids is None:
            return None
        jobs = jobs.filter(pk__gte=ids[0], pk__lte=ids[1])
    return jobs


def job_table_page(
    *, tenant: Tenant, livemode: bool, query: JobTableQuery, tz: tzinfo,
    older: str | None = None, newer: str | None = None, size: int = PAGE_SIZE,
) -> JobTablePage:
    """One page of the table: after ``older`` (the jobs older than it), or before ``newer``."""
    jobs = _filtered(tenant=tenant, livemode=livemode, query=query, tz=tz)
    if jobs is None:
        return JobTablePage(rows=[], older=None, newer=None)
    jobs = (jobs.select_related("usage_record", "created_by", "api_key")
            .defer("provider_handle", "input", "result_url", "error_message")
            .prefetch_related(Prefetch("assets", queryset=Asset.objects.filter(kind="image").only("id", "kind"),
                                       to_attr="image_assets")))
    after, before = cursor_read(older), cursor_read(newer)
    if before and not after:
        when, job_id = before
        chunk = list(jobs.filter(Q(created_at__gt=when) | Q(created_at=when, pk__gt=job_id))
                     .order_by("created_at", "id")[:size + 1])
        more_newer = len(chunk) > size
        rows = list(reversed(chunk[:size]))
        return JobTablePage(rows=rows, older=job_cursor(rows[-1]) if rows else None,
                            newer=job_cursor(rows[0]) if rows and more_newer else None)
    if after:
        when, job_id = after
        jobs = jobs.filter(Q(created_at__lt=when) | Q(created_at=when, pk__lt=job_id))
    chunk = list(jobs.order_by("-created_at", "-id")[:size + 1])
    rows = chunk[:size]
    return JobTablePage(rows=rows, older=job_cursor(rows[-1]) if len(chunk) > size else None,
                        newer=job_cursor(rows[0]) if rows and after else None)

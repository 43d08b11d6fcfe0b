"""``client.jobs``: create (uploading local files first), list, get, wait, cancel and download."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from .errors import APIConnectionError, WaitTimeout
from .files import replace_files
from .pages import page_of
from .types import Job, Page

if TYPE_CHECKING:
    from .client import Client

JobCallback = Callable[[Job], None]
DownloadCallback = Callable[[int, int | None], None]


def _job_id(job: Job | str) -> str:
    return job.id if isinstance(job, Job) else str(job)


class Jobs:
    def __init__(self, client: Client) -> None:
        self._client = client

    def create(self, *, model: str, input: dict[str, Any], wait: bool = False,  # noqa: A002 - the API's name
               cancel_after: str | int | None = None, timeout: float | None = None,
               poll_interval: float = 0.5, on_update: JobCallback | None = None,
               idempotency_key: str | None = None) -> Job:
        """Create a job; each ``parley.File`` or ``Path`` in ``input`` is uploaded first and replaced by
        its asset id. With ``wait=True``, poll until the job is final (``timeout`` seconds at most,
        else WaitTimeout) and return it whatever its final status: check ``job.status``."""
        resolved = replace_files(input, self._client.assets.upload_file)
        body: dict[str, Any] = {"model": model, "input": resolved}
        if cancel_after is not None:
            body["cancel_after"] = cancel_after
        response = self._client.transport.request("POST", "jobs", json=body,
                                                   idempotency_key=idempotency_key or str(uuid.uuid4()))
        job = Job.from_dict(response.json())
        if on_update is not None:
            on_update(job)
        if wait:
            job = self.wait(job, timeout=timeout, poll_interval=poll_interval, on_update=on_update)
        return job

    def get(self, job: Job | str) -> Job:
        return Job.from_dict(self._client.transport.request("GET", f"jobs/{_job_id(job)}").json())

    def list(self, *, status: str | None = None, model: str | None = None, limit: int | None = None,
             cursor: str | None = None) -> Page[Job]:
        """One page, newest first; pass ``page.next_cursor`` as ``cursor`` for the next."""
        response = self._client.transport.request(
            "GET", "jobs", params={"status": status, "model": model, "limit": limit, "cursor": cursor})
        return page_of(response.json(), Job.from_dict)

    def iterate(self, *, status: str | None = None, model: str | None = None,
                page_size: int = 100) -> Iterator[Job]:
        """Every job, newest first, fetching page after page as the caller goes."""
        cursor: str | None = None
        while True:
            page = self.list(status=status, model=model, limit=page_size, cursor=cursor)
            yield from page
            if not page.next_cursor:
                return
            cursor = page.next_cursor

    def cancel(self, job: Job | str) -> Job:
        """Cancel a job that is not final yet (a canceled job is never charged); ConflictError else."""
        return Job.from_dict(self._client.transport.request("POST", f"jobs/{_job_id(job)}/cancel").json())

    def wait(self, job: Job | str, *, timeout: float | None = None, poll_interval: float = 0.5,
             max_poll_interval: float = 3.0, on_update: JobCallback | None = None) -> Job:
        """Poll until the job is final; ``on_update`` sees every state read (the CLI draws its bar
        from it). The interval grows from ``poll_interval`` to ``max_poll_interval``."""
        current = job if isinstance(job, Job) else self.get(job)
        deadline = None if timeout is None else time.monotonic() + timeout
        interval = poll_interval
        while not current.is_final:
            if deadline is not None and time.monotonic() + interval > deadline:
                raise WaitTimeout(f"Job {current.id} is still {current.status} after {timeout} s.", job=current)
            time.sleep(interval)
            interval = min(max_poll_interval, interval * 1.5)
            current = self.get(current.id)
            if on_update is not None:
                on_update(current)
        return current

    def download(self, job: Job | str, path: str | os.PathLike[str], *,
                 on_progress: DownloadCallback | None = None) -> Path:
        """Write the job's MP4 to ``path`` (via a temporary file beside it, so a failed download leaves
        no partial file); ConflictError (or ValidationError on older servers) while it has no output.
        ``on_progress(bytes_so_far, total_or_None)`` follows the transfer."""
        target = Path(path)
        partial = target.with_name(f".{target.name}.part")
        with self._client.transport.stream("GET", f"jobs/{_job_id(job)}/output") as response:
            total = int(response.headers["Content-Length"]) if "Content-Length" in response.headers else None
            done = 0
            try:
                with open(partial, "wb") as out:
                    for chunk in response.iter_bytes(65536):
                        out.write(chunk)
                        done += len(chunk)
                        if on_progress is not None:
                            on_progress(done, total)
                os.replace(partial, target)
            except httpx.TransportError as exc:
                raise APIConnectionError(f"The download of job {_job_id(job)} broke off: {exc}") from exc
            finally:
                partial.unlink(missing_ok=True)
        return target

"""The CLI's progress display: it follows the job's states (stages passed between two polls
included, from the job's timeline), the provider's percentage, then the download."""

from __future__ import annotations

import io

from parley.progress import Progress
from parley.types import Job


def _job(status: str, moves: list[str], progress: float | None = None, position: int | None = None) -> Job:
    events, before = [], "queued"
    for to in moves:
        events.append({"at": "2026-11-30T01:00:00Z", "from_status": before, "to_status": to, "message": ""})
        before = to
    return Job.from_dict({"id": "j1", "status": status, "events": events, "progress": progress,
                          "queue_position": position})


def test_the_bar_follows_every_stage_and_the_percentage():
    out = io.StringIO()
    bar = Progress(out)
    bar.job(_job("queued", [], position=2))
    bar.job(_job("queued", [], position=2))  # unchanged: no new line
    bar.job(_job("running", ["submitting", "running"], progress=0.45))
    bar.job(_job("running", ["submitting", "running"], progress=0.9))
    bar.job(_job("succeeded", ["submitting", "running", "finalizing", "succeeded"]))
    bar.download(50, 100)
    bar.download(100, 100)
    bar.done()
    lines = [line.rsplit("  ", 1)[0] for line in out.getvalue().splitlines()]
    assert lines == [
        "[                            ] queued (position 2)",
        "[                            ] submitting",
        "[#############...............] running  45%",
        "[#########################...] running  90%",
        "[                            ] finalizing",
        "[############################] succeeded",
        "[##############..............] downloading 50 B / 100 B",
        "[############################] downloading 100 B / 100 B",
    ]


def test_a_failed_job_shows_its_status():
    out = io.StringIO()
    bar = Progress(out)
    bar.job(_job("failed", ["submitting", "failed"]))
    assert [line.rsplit("  ", 1)[0].split("] ")[1] for line in out.getvalue().splitlines()] == ["submitting", "failed"]

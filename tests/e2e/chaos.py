"""Crash safety under load: real ``qcluster``, ``job_poller`` and ``stripe_outbox`` processes (two
of each kind but the sender, by default), SIGKILLed at the steps of a job while a batch of jobs runs
through the provider emulator, restarted, and the books checked at the end. Used by
tests/e2e/test_crash_chaos.py (a short run) and bench/crash_chaos.py (the long one).

The chaos thread looks (up to ``aim_s``) for steps some job is at, strikes the one struck least so
far by killing one process of the kind that holds a job there, and pauses:

- ``submitting``: a job whose submit is on the wire (``submit_sent_at`` set) -> a worker cluster;
- ``running``: a job running at the provider -> a poller (perhaps holding its claims);
- ``finalizing``: a job whose video is downloading, being stored and metered -> a worker cluster;
- ``charging``: a meter event not yet acknowledged by Stripe -> the outbox sender;
- ``delivering``: a webhook message to the tenant being sent (claimed, not yet recorded) -> a
  worker cluster.

A step not seen within ``aim_s`` is killed anyway (a random moment). The killed process comes back
after a short pause. ``books`` then checks what must hold whatever was killed: every job ended,
each succeeded job has one usage record and the others none, Stripe's meter holds each live record
once, every task the provider emulator ran is a job's own or a recorded duplicate, and (with
``webhooks_delivered``) every webhook message reached its receiver at least once."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from django.db import connections
from django.utils import timezone

from billing.models import MeterEventOutbox, UsageRecord
from billing.money import to_cents
from jobs.models import Job, JobEvent, JobStatus
from webhooks.models import MessageStatus, WebhookMessage

ROOT = Path(__file__).resolve().parents[2]
COMMANDS = {
    "worker": ["qcluster"],
    "poller": ["job_poller", "--interval", "0.2"],
    "outbox": ["stripe_outbox", "--every", "1"],
}


# One model of each hosted provider: two that report their tasks by webhook, one that cannot.
MODELS = ["fal-ai/ai-avatar", "wavespeed-ai/wan-2.1/multitalk", "dashscope/wan2.7-r2v"]


def inputs_for(model: str, image: str, audio: str) -> dict:
    """A job's input for one of ``MODELS``, from an image and an audio asset id."""
    if model.startswith("fal-ai/"):
        return {"image_url": image, "audio_url": audio, "prompt": "Talk", "num_frames": 81}
    if model.startswith("dashscope/"):
        return {"prompt": "Image 1 talks", "duration": 2, "media": [{"type": "reference_image", "url": image}]}
    return {"image": image, "audio": audio}


@dataclass
class Kill:
    step: str
    kind: str
    index: int
    at: float
    aimed: bool  # the step was seen when the kill was sent (else: a random moment)


class Fleet:
    """Named process copies (``worker`` 0 and 1 ...), each in its own session so that a kill takes
    its children (a qcluster's workers) with it; logs appended per copy."""

    def __init__(self, env: dict[str, str], log_dir: Path, counts: dict[str, int]) -> None:
        self.env, self.log_dir, self.counts = env, log_dir, counts
        self.procs: dict[tuple[str, int], subprocess.Popen] = {}
        self.lock = threading.Lock()
        self.closed = False

    def start(self, kind: str, index: int) -> None:
        with self.lock:  # held while starting, so that ``stop`` never misses a process
            running = self.procs.get((kind, index))
            if self.closed or (running is not None and running.poll() is None):
                return  # stopping; or already back (two restarts were due after two kills of one copy)
            with open(self.log_dir / f"{kind}-{index}.log", "ab") as log:
                self.procs[(kind, index)] = subprocess.Popen(
                    [sys.executable, str(ROOT / "manage.py"), *COMMANDS[kind]], env=self.env,
                    stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def start_all(self) -> None:
        for kind, count in self.counts.items():
            for index in range(count):
                self.start(kind, index)

    def kill(self, kind: str, index: int) -> None:
        with self.lock:
            proc = self.procs[(kind, index)]
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(timeout=10)

    def ensure_running(self) -> None:
        for (kind, index), proc in list(self.procs.items()):
            if proc.poll() is not None:
                self.start(kind, index)

    def stop(self) -> None:
        with self.lock:
            self.closed = True
            procs = list(self.procs.values())
        for proc in procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)

    def output(self, tail: int = 3000) -> str:
        return "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-tail:]}"
                         for p in sorted(self.log_dir.glob("*.log")))


def _submitting(job_ids: list[str]) -> bool:
    return Job.objects.filter(pk__in=job_ids, status=JobStatus.SUBMITTING, submit_sent_at__isnull=False).exists()


def _running(job_ids: list[str]) -> bool:
    return Job.objects.filter(pk__in=job_ids, status=JobStatus.RUNNING).exists()


def _finalizing(job_ids: list[str]) -> bool:
    return Job.objects.filter(pk__in=job_ids, status=JobStatus.FINALIZING).exists()


def _charging(job_ids: list[str]) -> bool:
    return MeterEventOutbox.objects.filter(sent_at__isnull=True).exists()


def _delivering(job_ids: list[str]) -> bool:
    return WebhookMessage.objects.filter(job_id__in=job_ids, status=MessageStatus.PENDING,
                                         claimed_until__gt=timezone.now()).exists()


# step -> (the kind of process that holds a job there, whether some job is there now).
STEP_PROBES: dict[str, tuple[str, Callable[[list[str]], bool]]] = {
    "submitting": ("worker", _submitting),
    "running": ("poller", _running),
    "finalizing": ("worker", _finalizing),
    "charging": ("outbox", _charging),
    "delivering": ("worker", _delivering),
}


def webhooks_undelivered(job_ids: list[str], received: set[str]) -> list[str]:
    """The webhook messages of these jobs not yet delivered, or delivered by our records but never
    seen by the receiver (a delivery may repeat, Standard Webhooks being at least once; none may be lost)."""
    messages = WebhookMessage.objects.filter(job_id__in=job_ids)
    return [m.msg_id for m in messages if m.status != MessageStatus.DELIVERED or m.msg_id not in received]


def step_seen(step: str, job_ids: Iterable[str]) -> bool:
    return STEP_PROBES[step][1](list(job_ids))


class Chaos(threading.Thread):
    """Kills a process of the kind holding each step in turn, every ``pause_s`` (a random range),
    until stopped; each killed copy is restarted after ``restart_s``."""

    def __init__(self, fleet: Fleet, job_ids: list[str], *, seed: int, pause_s: tuple[float, float] = (1.0, 3.0),
                 restart_s: tuple[float, float] = (0.5, 2.0), aim_s: float = 3.0) -> None:
        super().__init__(name="chaos", daemon=True)
        self.fleet, self.job_ids = fleet, job_ids
        self.random = random.Random(seed)
        self.pause_s, self.restart_s, self.aim_s = pause_s, restart_s, aim_s
        self.kills: list[Kill] = []
        self.stopping = threading.Event()
        self.errors: list[str] = []
        self.timers: list[threading.Timer] = []

    def run(self) -> None:
        try:
            while not self.stopping.wait(self.random.uniform(*self.pause_s)):
                step, aimed = self._aim()
                if self.stopping.is_set():
                    break
                kind = STEP_PROBES[step][0]
                index = self.random.randrange(self.fleet.counts[kind])
                self.fleet.kill(kind, index)
                self.kills.append(Kill(step, kind, index, time.monotonic(), aimed))
                timer = threading.Timer(self.random.uniform(*self.restart_s), self._restart, (kind, index))
                self.timers.append(timer)
                timer.start()
        except Exception as exc:  # shown by the caller: a broken harness must not pass for a calm run
            self.errors.append(repr(exc))
        finally:
            connections.close_all()

    def _aim(self) -> tuple[str, bool]:
        """The step to strike: a step some job is at now, struck least so far (one struck as little
        as any is struck at once; else the best seen when ``aim_s`` ends); when none is seen, a
        random step's process at a random moment."""
        steps = [s for s, (kind, _) in STEP_PROBES.items() if self.fleet.counts.get(kind)]
        deadline = time.monotonic() + self.aim_s
        while not self.stopping.is_set():
            struck = Counter(k.step for k in self.kills if k.aimed)
            seen = [s for s in steps if step_seen(s, list(self.job_ids))]
            if seen:
                best = min(seen, key=lambda s: (struck[s], self.random.random()))
                if struck[best] <= min(struck[s] for s in steps) or time.monotonic() >= deadline:
                    return best, True
            elif time.monotonic() >= deadline:
                break
            time.sleep(0.02)
        return self.random.choice(steps), False

    def _restart(self, kind: str, index: int) -> None:
        if not self.stopping.is_set():
            self.fleet.start(kind, index)

    def stop(self) -> None:
        self.stopping.set()
        if self.is_alive():
            self.join(timeout=30)
        for timer in self.timers:
            timer.cancel()
            if timer.is_alive():
                timer.join(timeout=30)


@dataclass
class Books:
    jobs: int
    statuses: dict[str, int]
    unfinished: int
    usage_records: int
    charged_twice: int  # jobs with more than one usage record (the unique constraint says 0)
    charged_not_succeeded: int  # failed or canceled jobs that have a usage record
    succeeded_uncharged: int
    meter_events: int  # at the Stripe stand-in, one per identifier
    meter_events_unknown: int  # identifiers at Stripe that are no live usage record of this run
    meter_events_missing: int  # live usage records Stripe does not hold
    meter_value_difference_cents: Decimal  # Stripe's sum of values less our live charges, in cents
    meter_rejected_repeats: int  # sends Stripe refused as repeats (a resend after a crash: harmless)
    provider_tasks: int
    jobs_with_a_task: int
    recorded_duplicates: int
    unrecorded_tasks: int  # tasks beyond each job's own and the recorded duplicates
    unexplained_task_ids: list[str] = field(default_factory=list)  # of providers that report their tasks
    tasks_by_provider: dict[str, int] = field(default_factory=dict)
    duplicates_by_provider: dict[str, int] = field(default_factory=dict)

    def problems(self) -> list[str]:
        found = []
        for name in ("unfinished", "charged_twice", "charged_not_succeeded", "succeeded_uncharged",
                     "meter_events_unknown", "meter_events_missing", "unrecorded_tasks"):
            if getattr(self, name):
                found.append(f"{name}={getattr(self, name)}")
        if self.meter_value_difference_cents:
            found.append(f"meter_value_difference_cents={self.meter_value_difference_cents}")
        if self.unexplained_task_ids:
            found.append(f"unexplained_task_ids={self.unexplained_task_ids[:5]}")
        return found


def books(job_ids: list[str], *, provider_tasks: dict[str, dict], meter_events: dict[str, dict],
          meter_rejections: int, reporting_providers: Iterable[str] = ("fal", "wavespeed"),
          strict_meter: bool = True) -> Books:
    """The checks, from our database, the emulator's task list and the stand-in's meter events
    (``strict_meter``: the stand-in served this run alone, so every event there must be ours)."""
    jobs = list(Job.objects.filter(pk__in=job_ids))
    records = Counter(UsageRecord.objects.filter(job_id__in=job_ids).values_list("job_id", flat=True))
    statuses = Counter(j.status for j in jobs)
    live = {str(pk): amount for pk, amount in UsageRecord.objects.filter(job_id__in=job_ids, livemode=True)
            .values_list("pk", "amount")}
    ours_meter = {i: e for i, e in meter_events.items() if i in live}
    stripe_cents = sum((Decimal(e["payload"]["value"]) for e in ours_meter.values()), Decimal(0))
    our_cents = sum((to_cents(a) * 100 for a in live.values()), Decimal(0))
    own_ids = {j.provider_request_id for j in jobs if j.provider_request_id}
    duplicate_ids = set(JobEvent.objects.filter(job_id__in=job_ids, data__has_key="duplicate_request_id")
                        .values_list("data__duplicate_request_id", flat=True))
    recorded = sum(j.provider_duplicates for j in jobs)
    with_task = sum(1 for j in jobs if j.provider_request_id)
    unexplained = [tid for tid, task in provider_tasks.items()
                   if tid not in own_ids and tid not in duplicate_ids
                   and task.get("provider") in set(reporting_providers)]
    return Books(
        jobs=len(jobs), statuses=dict(statuses), unfinished=sum(1 for j in jobs if not j.is_final),
        usage_records=sum(records.values()), charged_twice=sum(1 for n in records.values() if n > 1),
        charged_not_succeeded=sum(1 for j in jobs if j.status != JobStatus.SUCCEEDED and records.get(j.pk)),
        succeeded_uncharged=sum(1 for j in jobs if j.status == JobStatus.SUCCEEDED and not records.get(j.pk)),
        meter_events=len(ours_meter),
        meter_events_unknown=len(set(meter_events) - set(live)) if strict_meter else 0,
        meter_events_missing=len(set(live) - set(ours_meter)),
        meter_value_difference_cents=stripe_cents - our_cents,
        meter_rejected_repeats=meter_rejections,
        provider_tasks=len(provider_tasks), jobs_with_a_task=with_task, recorded_duplicates=recorded,
        unrecorded_tasks=max(0, len(provider_tasks) - with_task - recorded),
        unexplained_task_ids=unexplained,
        tasks_by_provider=dict(Counter(t.get("provider") for t in provider_tasks.values())),
        duplicates_by_provider={p: sum(j.provider_duplicates for j in jobs if j.provider == p)
                                for p in sorted({j.provider for j in jobs})},
    )


def wait_until(predicate: Callable[[], object], *, timeout: float, interval: float = 0.5) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return bool(predicate())


def all_final(job_ids: list[str]) -> bool:
    return not Job.objects.filter(pk__in=job_ids).exclude(
        status__in=[JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELED]).exists()


def outbox_drained(job_ids: list[str]) -> bool:
    live = UsageRecord.objects.filter(job_id__in=job_ids, livemode=True)
    return not live.filter(meter_event__isnull=True).exists() and not live.filter(meter_event__sent_at__isnull=True
                                                                                   ).exists()

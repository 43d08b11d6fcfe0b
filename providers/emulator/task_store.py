"""The task store and the tasks' lifecycle: tasks by id, the scheduler that starts them under each
provider's concurrency cap, the render pool that runs them, and the request log.

Lifecycle of a task: ``queued`` (at least ``queued_s``, and for as long as the provider's
concurrency cap is reached: tasks over the cap wait on the provider's side, like WaveSpeed's
default tier) -> ``running`` (the inputs are downloaded over HTTP for real and a still-image MP4 is
rendered in a worker pool; the state lasts at least ``running_s``, give or take
``running_spread``) -> ``succeeded`` | ``failed`` (or ``canceled``). Webhooks are POSTed once a
task is succeeded or failed.

It holds thousands of tasks cheaply: a render pool thread is busy only while it downloads and
renders (the rest of the running time is an entry in the scheduler's heap, not a sleeping thread),
the scheduler looks only at queued tasks and due finishes, and with ``reuse_renders`` identical
inputs are rendered once.
"""

from __future__ import annotations

import hashlib
import heapq
import itertools
import logging
import random
import secrets
import shutil
import tempfile
import threading
import time
import uuid
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from .config import EmulatorConfig
from .faults import Faults
from .input_fetch import Fetcher, TaskInputs
from .rendering import Renderer
from .signing import FileTokens
from .tasks import Task, TaskFailure, iso_utc
from .webhooks import WebhookSender

if TYPE_CHECKING:
    from providers.renderer import RenderResult

    from .handler import ProviderHandler
    from .rendering import OutputFile

logger = logging.getLogger("providers.emulator")


class TaskStore:
    """Tasks, their lifecycle (a scheduler thread plus a render pool), the request log, faults,
    output files and webhooks. All mutable state is guarded by ``lock``."""

    def __init__(self, config: EmulatorConfig) -> None:
        self.config = config
        self.lock = threading.RLock()
        self._wake = threading.Condition(self.lock)
        self.stop_event = threading.Event()
        self.tasks: dict[str, Task] = {}
        self.requests: deque[dict[str, Any]] = deque(maxlen=max(1, config.max_logged))
        self.faults = Faults(config)
        self.handlers: dict[str, ProviderHandler] = {}
        self.base_url = ""
        self.tokens = FileTokens(secrets.token_bytes(32))
        self._seq = itertools.count(1)
        self._generation = 0
        self._queued: list[Task] = []  # in submission order; started or canceled ones are skipped
        self._running: dict[str, int] = {}  # tasks running per provider
        self._finishing: list[tuple[float, int, Task, int, Any, TaskFailure | None]] = []  # due finishes
        self._renders: dict[tuple, Any] = {}  # reuse_renders: inputs' digest -> RenderResult
        if config.work_dir is None:
            self.work_dir = Path(tempfile.mkdtemp(prefix="parley-emulator-"))
            self._owns_work_dir = True
        else:
            self.work_dir = Path(config.work_dir)
            self.work_dir.mkdir(parents=True, exist_ok=True)
            self._owns_work_dir = False
        self.fetcher = Fetcher(config)
        self.renderer = Renderer(config, out_dir=self.work_dir / "outputs", tokens=self.tokens)
        self.webhooks = WebhookSender(config, self.stop_event)
        self._pool = ThreadPoolExecutor(max_workers=max(1, config.render_workers),
                                        thread_name_prefix="emulator-render")
        self._scheduler = threading.Thread(target=self._schedule_loop, name="emulator-scheduler", daemon=True)

    # -- life of the store ------------------------------------------------------------------------
    def start(self) -> None:
        self._scheduler.start()

    def close(self) -> None:
        self.stop_event.set()
        with self._wake:
            self._wake.notify_all()
        self._scheduler.join(timeout=5)
        self._pool.shutdown(wait=True, cancel_futures=True)
        self.webhooks.close()
        self.fetcher.close()
        if self._owns_work_dir:
            shutil.rmtree(self.work_dir, ignore_errors=True)

    def reset(self) -> None:
        """Forget every task, logged request, fault and webhook; work in flight is discarded."""
        with self._wake:
            self._generation += 1
            self.tasks.clear()
            self._queued.clear()
            self._running.clear()
            self._finishing.clear()
            self.requests.clear()
            self.faults.clear()
            self.webhooks.clear()
            self._wake.notify_all()

    # -- tasks -----------------------------------------------------------------------------------
    def create_task(
        self,
        *,
        provider: str,
        model: str,
        input: dict[str, Any],
        params: dict[str, Any],
        webhook_url: str | None,
        task_id: str | None = None,
    ) -> Task:
        now = time.time()
        task = Task(
            id=task_id or uuid.uuid4().hex,
            provider=provider,
            model=model,
            input=input,
            params=params,
            webhook_url=webhook_url,
            seq=next(self._seq),
            created_at=now,
            created_mono=time.monotonic(),
            force_fail=self.faults.take_fail_task(provider),
        )
        with self._wake:
            self.tasks[task.id] = task
            self._queued.append(task)
            self._wake.notify_all()
        return task

    def get(self, provider: str, task_id: str) -> Task | None:
        with self.lock:
            task = self.tasks.get(task_id)
            if task is None or task.provider != provider or task.deleted:
                return None
            return task

    def queue_position(self, task: Task) -> int:
        """0-based position among the provider's queued tasks (fal's ``queue_position``)."""
        with self.lock:
            return sum(
                1 for t in self._queued
                if t.provider == task.provider and t.state == "queued" and t.seq < task.seq
            )

    def cancel(self, task: Task) -> Literal["removed", "requested", "final"]:
        """Cancel: a queued task is removed at once; a running one is asked to stop (it ends
        ``canceled`` when its running time is over, its render discarded); a final one is left."""
        with self._wake:
            if task.state == "queued":
                task.state = "canceled"
                task.finished_at = time.time()
                task.failure = TaskFailure("canceled", "canceled while queued")
                self._wake.notify_all()
                return "removed"
            if task.state == "running":
                task.cancel_requested = True
                return "requested"
            return "final"

    def delete(self, task: Task) -> None:
        with self.lock:
            task.deleted = True

    def add_log(self, task: Task, message: str, level: str = "INFO") -> None:
        with self.lock:
            task.logs.append({"timestamp": iso_utc(time.time()), "level": level, "source": "user",
                              "message": message})

    # -- the request log ---------------------------------------------------------------------------
    def log_request(self, entry: dict[str, Any]) -> None:
        with self.lock:
            self.requests.append(entry)

    def requests_snapshot(self) -> list[dict[str, Any]]:
        with self.lock:
            return [dict(e) for e in self.requests]

    # -- outputs -----------------------------------------------------------------------------------
    def file_for_token(self, task_id: str) -> tuple[Task | None, OutputFile | None]:
        with self.lock:
            task = self.tasks.get(task_id)
            if task is None or task.deleted or task.output is None:
                return task, None
            return task, task.output

    # -- snapshots for tests and /_emulator/tasks ---------------------------------------------------
    def task_snapshot(self, task: Task) -> dict[str, Any]:
        with self.lock:
            handler = self.handlers.get(task.provider)
            out = task.output
            return {
                "id": task.id,
                "provider": task.provider,
                "model": task.model,
                "state": task.state,
                "provider_status": handler.status_word(task) if handler else task.state,
                "input": task.input,
                "params": _jsonable(task.params),
                "webhook_url": task.webhook_url,
                "created_at": task.created_at,
                "started_at": task.started_at,
                "finished_at": task.finished_at,
                "cancel_requested": task.cancel_requested,
                "force_fail": task.force_fail,
                "deleted": task.deleted,
                "error": task.failure.as_dict() if task.failure else None,
                "output": None if out is None else {
                    "url": out.url, "size": out.size, "expires_at": out.expires_at,
                    "duration_s": str(out.duration_s), "width": out.width, "height": out.height,
                    "frames": out.frames, "file_name": out.file_name,
                },
                "extra": _jsonable(task.extra),
            }

    def tasks_snapshot(self) -> dict[str, dict[str, Any]]:
        with self.lock:
            return {t.id: self.task_snapshot(t) for t in sorted(self.tasks.values(), key=lambda t: t.seq)}

    # -- the lifecycle -------------------------------------------------------------------------------
    def _schedule_loop(self) -> None:
        while not self.stop_event.is_set():
            webhooks: list[Task] = []
            with self._wake:
                wait = min(self._start_due_tasks(), self._finish_due_tasks(webhooks))
                if not webhooks:
                    self._wake.wait(timeout=wait)
            for task in webhooks:  # sent outside the lock
                self._send_webhook(task)

    def _start_due_tasks(self) -> float:
        """Move queued tasks to running where their queue time is over and a slot is free.
        Returns how long the scheduler may sleep."""
        now = time.monotonic()
        wait = 0.5
        still: list[Task] = []
        for index, task in enumerate(self._queued):
            if task.state != "queued":
                continue  # canceled while queued
            due = task.created_mono + self.config.queued_s
            if due > now:
                wait = min(wait, due - now)
                still.extend(t for t in self._queued[index:] if t.state == "queued")  # later ones are due later
                break
            if self._running.get(task.provider, 0) >= self.config.cap_for(task.provider):
                still.append(task)
                continue  # over the account's cap: stays queued until a slot frees (notify on finish)
            self._running[task.provider] = self._running.get(task.provider, 0) + 1
            task.state = "running"
            task.started_at = time.time()
            task.started_mono = now
            self.add_log(task, "Request picked up by a runner")
            try:
                self._pool.submit(self._run, task, self._generation)
            except RuntimeError:  # pool shut down: the emulator is stopping
                return wait
        self._queued = still
        return max(0.005, wait)

    def _run(self, task: Task, generation: int) -> None:
        """Download and render (a pool thread's only work), then leave the task to the scheduler,
        which finishes it once its running time is over."""
        handler = self.handlers[task.provider]
        result: RenderResult | None = None
        failure: TaskFailure | None = None
        try:
            inputs = TaskInputs(fetcher=self.fetcher, dir=self.work_dir / "inputs" / task.id)
            self.add_log(task, "Downloading inputs")
            plan = handler.plan(task, inputs)
            if task.force_fail:
                raise TaskFailure("fault", "emulated failure (fail_task)")
            self.add_log(task, "Generating video")
            result = self._render(task, plan)
        except TaskFailure as exc:
            failure = exc
        except Exception as exc:  # the renderer's MediaError, PyAV errors...
            logger.warning("emulator: rendering task %s failed: %s", task.id, exc)
            failure = TaskFailure("render", f"rendering failed: {exc}")
        finally:
            shutil.rmtree(self.work_dir / "inputs" / task.id, ignore_errors=True)
        spread = self.config.running_spread
        running_s = self.config.running_s * (random.uniform(1 - spread, 1 + spread) if spread else 1.0)
        with self._wake:
            if generation != self._generation or task.state != "running":
                return
            finish = max(time.monotonic(), (task.started_mono or 0.0) + running_s)
            heapq.heappush(self._finishing, (finish, task.seq, task, generation, result, failure))
            self._wake.notify_all()

    def _render(self, task: Task, plan: Any) -> RenderResult:
        """Render the plan, or with ``reuse_renders`` hand back an earlier render of the same inputs."""
        if not self.config.reuse_renders:
            return self.renderer.render(task.id, plan)
        key = (_digest(plan.image_path), _digest(plan.audio_path), str(plan.duration_s), plan.resolution)
        with self.lock:
            done = self._renders.get(key)
        if done is None:
            done = self.renderer.render(task.id, plan)
            with self.lock:
                self._renders.setdefault(key, done)
        return done

    def _finish_due_tasks(self, webhooks: list[Task]) -> float:
        """End the running tasks whose time is over (under the lock); those owing a webhook are
        added to ``webhooks``. Returns how long the scheduler may sleep."""
        now = time.monotonic()
        while self._finishing and self._finishing[0][0] <= now:
            _due, _seq, task, generation, result, failure = heapq.heappop(self._finishing)
            if generation != self._generation or task.state != "running":
                continue
            self._running[task.provider] = max(0, self._running.get(task.provider, 0) - 1)
            task.finished_at = time.time()
            if task.cancel_requested:
                task.state = "canceled"
                task.failure = TaskFailure("canceled", "canceled while running")
            elif failure is not None:
                task.state = "failed"
                task.failure = failure
                self.add_log(task, f"Request failed: {failure.message}", level="ERROR")
            else:
                assert result is not None
                task.output = self.renderer.publish(task.id, result, base_url=self.base_url,
                                                    expired=self.faults.flag(task.provider, "expired_output"))
                task.state = "succeeded"
                self.add_log(task, "Request completed")
            if task.state in ("succeeded", "failed") and task.webhook_url:
                webhooks.append(task)
        return max(0.005, min(0.5, self._finishing[0][0] - now)) if self._finishing else 0.5

    def _send_webhook(self, task: Task) -> None:
        if self.stop_event.is_set():
            return
        request = self.handlers[task.provider].webhook(task)
        if request is not None:
            copies = 2 if self.faults.flag(task.provider, "duplicate_webhook") else 1
            self.webhooks.send(request, copies=copies)


def _digest(path: Path | None) -> str | None:
    if path is None:
        return None
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in list(value.items())}  # list(): a worker may be adding keys
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value

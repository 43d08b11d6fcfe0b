"""How many running jobs one ``job_poller`` keeps polled on schedule.

Starts the provider emulator (tasks that run for an hour, so that every job stays running), makes
``--jobs`` real tasks in it through the platform's own fal client, writes one running job per task
straight into the database (their first polls spread over one interval, as in a steady state),
then runs ONE ``manage.py job_poller`` for ``--seconds`` with every job polled every ``--interval``
seconds (``JOB_POLL_MAX_INTERVAL_S``). Reports the polls per second it managed against the rate the
schedule asks for, the poll lag (how late each poll started) from the poller's own log lines, its
CPU per poll and RSS, and the writes it made to ``jobs_job`` (with the share of HOT updates) from
PostgreSQL's statistics.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/parley_poll REDIS_URL=redis://127.0.0.1:6379/6 \\
        .venv/bin/python bench/poller_load.py --jobs 5000 --interval 15 --seconds 120

It empties the database's ``public`` schema first (``--keep`` to skip): use a database of its own.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
MANAGE = [sys.executable, str(ROOT / "manage.py")]
REPORT = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d),(\d{3}) .*holding (\d+) running jobs \(most (\d+)\), "
                    r"(\d+) polls, lag p50 ([\d.]+) s p95 ([\d.]+) s", re.M)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def proc_stats(pid: int) -> tuple[float, int]:
    """(CPU seconds, RSS bytes) of a process."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    rss = int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
    return cpu, rss


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=5000)
    parser.add_argument("--interval", type=float, default=15.0, help="Seconds between two polls of a job.")
    parser.add_argument("--seconds", type=float, default=120.0, help="How long the poller runs.")
    parser.add_argument("--concurrency", type=int, default=32, help="POLLER_CONCURRENCY.")
    parser.add_argument("--keep", action="store_true", help="Do not empty the database first.")
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        sys.exit("Set DATABASE_URL to a PostgreSQL database of the benchmark's own.")

    work = Path(tempfile.mkdtemp(prefix="parley-poller-bench-"))
    emu_port = free_port()
    env = {**os.environ, "PROVIDER_EMULATOR_URL": f"http://127.0.0.1:{emu_port}", "LOG_LEVEL": "INFO",
           "JOB_POLL_INTERVAL_S": "2", "JOB_POLL_MAX_INTERVAL_S": str(args.interval),
           "POLLER_CONCURRENCY": str(args.concurrency), "MEDIA_ROOT": str(work / "media")}
    for name in ("WAVESPEED_API_KEY", "FAL_KEY", "DASHSCOPE_API_KEY"):
        env.pop(name, None)
    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.db import connection

    if not args.keep:
        with connection.cursor() as c:
            c.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
    subprocess.run([*MANAGE, "migrate", "-v0"], env=env, check=True)

    emulator = subprocess.Popen(
        [*MANAGE, "provider_emulator", "--port", str(emu_port), "--queued-s", "0", "--running-s", "3600",
         "--concurrency", "1000000", "--render-workers", "2", "--reuse-renders", "--max-logged", "2000"],
        env=env, stdout=open(work / "emulator.log", "wb"), stderr=subprocess.STDOUT, start_new_session=True)
    try:
        report = run(args, env, work, emulator)
    finally:
        if emulator.poll() is None:
            os.killpg(emulator.pid, signal.SIGTERM)
            emulator.wait(timeout=30)
    print(json.dumps(report, indent=2))


def run(args: argparse.Namespace, env: dict[str, str], work: Path, emulator: subprocess.Popen) -> dict:
    from decimal import Decimal

    import httpx
    from django.db import connection
    from django.utils import timezone

    from accounts.models import Tenant
    from jobs.models import Job, JobStatus
    from providers import registry
    from tests.media_fixtures import make_png, make_wav

    for _ in range(100):
        try:
            httpx.get(f"{env['PROVIDER_EMULATOR_URL']}/_emulator/health", timeout=1)
            break
        except httpx.TransportError:
            time.sleep(0.2)
    make_png(work / "face.png"), make_wav(work / "speech.wav", seconds=3.0)
    files = _serve(work)  # the inputs over HTTP, as our signed URLs serve them (data: URIs would sit in every task)
    inputs = {"image_url": f"{files}/face.png", "audio_url": f"{files}/speech.wav", "prompt": "Talk",
              "num_frames": 81}

    def submit(_: int):
        with registry.client_for("fal", livemode=False) as client:
            return client.submit(model_path="fal-ai/ai-avatar", inputs=inputs)

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=16) as pool:
        submissions = list(pool.map(submit, range(args.jobs)))
    submit_s = time.monotonic() - started

    tenant = Tenant.objects.create(name="Poller bench")  # jobs need a tenant, nothing more
    now = timezone.now()
    Job.objects.bulk_create([
        Job(tenant=tenant, model_id="fal-ai/ai-avatar", provider="fal", status=JobStatus.RUNNING, livemode=False,
            emulated=True, input={"prompt": "Talk"}, quote_seconds=Decimal("3.24"), quote_amount=Decimal("0.81"),
            provider_request_id=s.request_id, provider_handle=s.handle, provider_status="running",
            started_at=now - timedelta(seconds=20 * args.interval),
            next_attempt_at=now + timedelta(seconds=random.uniform(0, args.interval)))
        for s in submissions
    ], batch_size=1000)
    with connection.cursor() as c:
        c.execute("ANALYZE jobs_job")
    before = _table_stats()

    log_path = work / "poller.log"
    poller = subprocess.Popen([*MANAGE, "job_poller", "--report-every", "10"], env=env,
                              stdout=open(log_path, "wb"), stderr=subprocess.STDOUT, start_new_session=True)
    try:
        return _measure(args, poller, emulator, log_path, before, submit_s)
    finally:
        if poller.poll() is None:
            os.killpg(poller.pid, signal.SIGKILL)


def _measure(args, poller, emulator, log_path, before, submit_s) -> dict:  # noqa: ANN001
    t0 = time.monotonic()
    cpu0, _ = proc_stats(poller.pid)
    emu_cpu0, _ = proc_stats(emulator.pid)
    rss_max = emu_rss_max = 0
    while time.monotonic() - t0 < args.seconds:
        time.sleep(2)
        _, rss = proc_stats(poller.pid)
        rss_max = max(rss_max, rss)
        emu_rss_max = max(emu_rss_max, proc_stats(emulator.pid)[1])
    cpu1, _ = proc_stats(poller.pid)
    emu_cpu1, _ = proc_stats(emulator.pid)
    wall = time.monotonic() - t0
    emu_threads = len(os.listdir(f"/proc/{emulator.pid}/task"))
    os.killpg(poller.pid, signal.SIGTERM)
    poller.wait(timeout=60)
    time.sleep(1)  # the statistics collector
    after = _table_stats()

    reports = [(_when(m[1], m[2]), *map(float, m.groups()[2:]))
               for m in REPORT.finditer(log_path.read_text(errors="replace"))]
    steady = reports[2:]  # the first line is written before any poll, the second while the claims ramp up
    # polls/s between the first and the last report (the log's own clock)
    rate = (reports[-1][3] - reports[1][3]) / (reports[-1][0] - reports[1][0]) if len(reports) > 2 else 0.0
    polls = reports[-1][3] if reports else 0
    updates = after[0] - before[0]
    return {
        "jobs": args.jobs, "interval_s": args.interval, "wanted_polls_per_s": round(args.jobs / args.interval, 1),
        "seconds": round(wall, 1), "concurrency": args.concurrency, "submit_s": round(submit_s, 1),
        "polls": int(polls), "polls_per_s": round(rate, 1),
        "most_held": int(max((r[2] for r in reports), default=0)),
        "lag_p50_s_per_report": [r[4] for r in steady], "lag_p95_s_per_report": [r[5] for r in steady],
        "poller_cpu_ms_per_poll": round(1000 * (cpu1 - cpu0) / polls, 2) if polls else None,
        "poller_cpu_share": round((cpu1 - cpu0) / wall, 2),
        "poller_rss_mb_max": round(rss_max / 2**20, 1), "emulator_rss_mb_max": round(emu_rss_max / 2**20, 1),
        "emulator_threads": emu_threads, "emulator_cpu_share": round((emu_cpu1 - emu_cpu0) / wall, 2),
        "load_average": os.getloadavg(),
        "jobs_job_updates": updates, "updates_per_poll": round(updates / polls, 3) if polls else None,
        "hot_updates": after[1] - before[1],
        "tracebacks": log_path.read_text(errors="replace").count("Traceback"),
        "log": str(log_path),
    }


def _serve(folder: Path) -> str:
    import functools
    import threading
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(folder)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}"


def _when(stamp: str, millis: str) -> float:
    from datetime import datetime

    return datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S").timestamp() + int(millis) / 1000


def _table_stats() -> tuple[int, int]:
    from django.db import connection

    with connection.cursor() as c:
        if connection.pg_version >= 150000:
            c.execute("SELECT pg_stat_force_next_flush()")
        c.execute("SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables WHERE relname = 'jobs_job'")
        return c.fetchone()


if __name__ == "__main__":
    main()

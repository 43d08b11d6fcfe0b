"""Crash safety under load, the long run: N jobs of the three hosted providers through the emulator,
created through the API of a real gunicorn at a steady rate, run by two django-q2 clusters, two
pollers and the Stripe outbox sender (real processes on PostgreSQL and Redis), while a chaos thread
SIGKILLs one of them at a step of a job every few seconds (tests/e2e/chaos.py: submitting, running,
finalizing, charging) and restarts it. At the end: every job ended, each succeeded job was charged
once and the others never, Stripe's meter holds each charge once, and no provider task was created
twice unrecorded. Prints a JSON report.

    createdb -h 127.0.0.1 -U postgres parley_ops_bench
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/parley_ops_bench REDIS_URL=redis://127.0.0.1:6379/8 \\
        .venv/bin/python bench/crash_chaos.py --jobs 150 --interval 0.4
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=150)
    parser.add_argument("--interval", type=float, default=0.4, help="Seconds between two job creations.")
    parser.add_argument("--pause", type=float, nargs=2, default=(1.0, 3.0), help="Seconds between kills (range).")
    parser.add_argument("--restart", type=float, nargs=2, default=(0.5, 2.0), help="Seconds before a restart.")
    parser.add_argument("--workers", type=int, default=2, help="qcluster processes")
    parser.add_argument("--pollers", type=int, default=2)
    parser.add_argument("--senders", type=int, default=1, help="stripe_outbox processes")
    parser.add_argument("--lease", type=float, default=5.0,
                        help="JOB_LEASE_S, POLLER_CLAIM_S, POLLER_HOLD_S, STRIPE_OUTBOX_CLAIM_S")
    parser.add_argument("--seed", type=int, default=int(time.time()))
    parser.add_argument("--timeout", type=float, default=900)
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith("postgres") or not os.environ.get("REDIS_URL"):
        sys.exit("Set DATABASE_URL (PostgreSQL) and REDIS_URL: the run is about real processes on real services.")

    work = Path(tempfile.mkdtemp(prefix="parley-chaos-"))
    web_port = _free_port()
    lease = str(args.lease)
    os.environ.update({
        "DJANGO_SETTINGS_MODULE": "config.settings", "MEDIA_ROOT": str(work / "media"),
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{web_port}", "Q_CLUSTER_NAME": f"chaos-{os.getpid()}",
        "FREE_ALLOWANCE_USD": "1000000", "LOG_LEVEL": "INFO", "PYTHONUNBUFFERED": "1",
        "JOB_LEASE_S": lease, "POLLER_CLAIM_S": lease, "POLLER_HOLD_S": lease, "STRIPE_OUTBOX_CLAIM_S": lease,
        "JOB_SUBMIT_REPORT_WAIT_S": "20", "JOB_POLL_INTERVAL_S": "0.5", "JOB_POLL_MAX_INTERVAL_S": "2",
        "JOB_RETRY_BASE_S": "0.5", "Q_WORKERS": "2",
        "WAVESPEED_CONCURRENCY": "200", "FAL_CONCURRENCY": "200", "DASHSCOPE_CONCURRENCY": "200",
        "TENANT_MAX_RUNNING_JOBS": "10000",  # one tenant makes them all: its cap (10 by default) would queue them
    })
    for key in ("WAVESPEED_API_KEY", "FAL_KEY", "DASHSCOPE_API_KEY", "STRIPE_SECRET_KEY", "PROMETHEUS_MULTIPROC_DIR"):
        os.environ.pop(key, None)
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    from billing.stripe_standin import StandinConfig, start_standin
    from providers.emulator.config import EmulatorConfig
    from providers.emulator.server import start_emulator
    from tests.e2e.chaos import MODELS, Chaos, Fleet, all_final, books, inputs_for, outbox_drained, wait_until
    from tests.media_fixtures import make_png, make_wav

    call_command("migrate", verbosity=0)
    emulator = start_emulator(EmulatorConfig(
        api_key=settings.PROVIDER_EMULATOR_KEY, webhook_secret=settings.PROVIDER_EMULATOR_WEBHOOK_SECRET,
        queued_s=0.3, running_s=3.0, concurrency=200, render_workers=2))
    emulator.set_faults(None, latency_s=0.5, output_latency_s=1.0)
    standin = start_standin(StandinConfig(port=0, webhook_secret=settings.STRIPE_WEBHOOK_SECRET))
    os.environ.update({"PROVIDER_EMULATOR_URL": emulator.url, "STRIPE_API_BASE": standin.url})
    env = dict(os.environ)
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "stripe_setup"], env=env, check=True, capture_output=True)
    out = subprocess.run([*manage, "create_tenant", f"Chaos {args.seed}", "--owner", f"chaos-{args.seed}@example.com",
                          "--api-key", "--json"], env=env, check=True, capture_output=True, text=True).stdout
    key = json.loads(out)["api_key"]
    from django_q.brokers import get_broker

    get_broker().purge_queue()

    web_log = open(work / "web.log", "wb")  # noqa: SIM115
    web = subprocess.Popen([str(Path(sys.executable).parent / "gunicorn"), "-c", "config/gunicorn.conf.py",
                            "--bind", f"127.0.0.1:{web_port}", "config.wsgi"], cwd=ROOT, env=env, stdout=web_log,
                           stderr=subprocess.STDOUT, start_new_session=True)
    fleet = Fleet(env, work, {"worker": args.workers, "poller": args.pollers, "outbox": args.senders})
    job_ids: list[str] = []
    created_at: dict[str, float] = {}
    chaos = Chaos(fleet, job_ids, seed=args.seed, pause_s=tuple(args.pause), restart_s=tuple(args.restart))
    base = f"http://127.0.0.1:{web_port}/api/v1"
    client = httpx.Client(headers={"Authorization": f"Bearer {key}"}, timeout=60)
    create_errors: list[str] = []
    report: dict[str, object] = {}
    try:
        wait_until(lambda: _answers(client, f"{base}/models"), timeout=60, interval=0.3)
        image = client.post(f"{base}/assets", files={"file": make_png(work / "face.png").open("rb")}).json()["id"]
        audio = client.post(f"{base}/assets", files={"file": make_wav(work / "speech.wav", seconds=2).open("rb")}
                            ).json()["id"]
        fleet.start_all()
        chaos.start()
        started = time.monotonic()
        for i in range(args.jobs):
            model = MODELS[i % len(MODELS)]
            try:
                r = client.post(f"{base}/jobs", json={"model": model, "input": inputs_for(model, image, audio)})
            except httpx.HTTPError as exc:
                create_errors.append(repr(exc))
                continue
            if r.status_code == 201:
                job_ids.append(r.json()["id"])
                created_at[job_ids[-1]] = time.monotonic()
            else:
                create_errors.append(f"{r.status_code} {r.text[:200]}")
            time.sleep(args.interval)
        created_s = time.monotonic() - started
        ended = wait_until(lambda: all_final(job_ids), timeout=args.timeout, interval=1)
        ended_s = time.monotonic() - started
        chaos.stop()
        fleet.ensure_running()
        drained = wait_until(lambda: outbox_drained(job_ids), timeout=120, interval=1)
        drained_s = time.monotonic() - started
        result = books(job_ids, provider_tasks=emulator.tasks, meter_events=standin.meter_events,
                       meter_rejections=httpx.get(f"{standin.url}/_standin/meter_events").json()["rejected_duplicates"])
        report = _report(args, job_ids, chaos, result, created_s=created_s, ended_s=ended_s, drained_s=drained_s,
                         ended=ended, drained=drained, create_errors=create_errors, work=work)
    finally:
        chaos.stop()
        fleet.stop()
        os.killpg(web.pid, signal.SIGTERM)
        web.wait(timeout=30)
        web_log.close()
        emulator.stop()
        standin.stop()
    print(json.dumps(report, indent=2, default=str))
    sys.exit(0 if report.get("problems") == [] else 1)


def _answers(client: httpx.Client, url: str) -> bool:
    try:
        return client.get(url).status_code == 200
    except httpx.TransportError:
        return False


def _report(args: argparse.Namespace, job_ids: list[str], chaos: object, result: object, *, created_s: float,
            ended_s: float, drained_s: float, ended: bool, drained: bool, create_errors: list[str],
            work: Path) -> dict[str, object]:
    from jobs.models import Job

    durations = sorted((j.completed_at - j.created_at).total_seconds()
                       for j in Job.objects.filter(pk__in=job_ids, completed_at__isnull=False))
    kills = chaos.kills  # type: ignore[attr-defined]
    logs = "".join(p.read_text(errors="replace") for p in work.glob("*.log"))
    return {
        "jobs": len(job_ids), "create_errors": len(create_errors), "seed": args.seed,
        "processes": {"worker": args.workers, "poller": args.pollers, "outbox": args.senders}, "lease_s": args.lease,
        "kills": len(kills),
        "kills_aimed_by_step": dict(Counter(k.step for k in kills if k.aimed)),
        "kills_at_random_by_kind": dict(Counter(k.kind for k in kills if not k.aimed)),
        "created_in_s": round(created_s, 1), "all_ended_after_s": round(ended_s, 1),
        "outbox_drained_after_s": round(drained_s, 1), "ended": ended, "drained": drained,
        "job_duration_p50_s": round(statistics.median(durations), 1) if durations else None,
        "job_duration_p95_s": round(durations[int(0.95 * (len(durations) - 1))], 1) if durations else None,
        "job_duration_max_s": round(durations[-1], 1) if durations else None,
        "books": result.__dict__,  # type: ignore[attr-defined]
        "problems": result.problems() + ([] if ended else ["not every job ended"])  # type: ignore[attr-defined]
        + ([] if drained else ["the outbox did not drain"]) + [f"chaos: {e}" for e in chaos.errors],  # type: ignore
        "tracebacks_in_logs": logs.count("Traceback"),
        "logs": str(work),
    }


if __name__ == "__main__":
    threading.current_thread().name = "bench"
    main()

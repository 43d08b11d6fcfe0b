"""The job lifecycle at scale: thousands of jobs running at once through the real processes.

Starts, on PostgreSQL and Redis, gunicorn (the API, the provider webhooks, the signed input URLs),
one django-q2 cluster, ONE ``job_poller`` and the provider emulator (renders of ``--running-s``
seconds, give or take ``--spread``; identical inputs rendered once). Creates ``--jobs`` test-mode
jobs through the API (fal's ai-avatar, which has webhooks, and a ``--dashscope-share`` of DashScope
wan2.7-r2v, which has none), then follows them to the end. With ``--kill-worker-at S`` the
django-q2 cluster is SIGKILLed S seconds after the first job is created and started again 5 s later.

Reports jobs finished per minute, the most jobs running at once and the most one poller held, the
poll lag (the poller's own log), provider completion -> succeeded (the emulator's finish time to
the job's ``completed_at``; the download of the emulator's small file is inside it) and completion
-> finalizing (the job learnt it), per provider, the processes' peak RSS, and the counts that must
be 0: jobs lost (not final at the end), provider tasks beyond one per job, jobs charged twice or
charged without succeeding.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/parley_poll REDIS_URL=redis://127.0.0.1:6379/6 \\
        .venv/bin/python bench/lifecycle_scale.py --jobs 5000 --running-s 180

It empties the database's ``public`` schema and the Redis database first: give it their own.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
MANAGE = [sys.executable, str(ROOT / "manage.py")]

from poller_load import REPORT, _when, free_port  # noqa: E402

FAL, DASHSCOPE = "fal-ai/ai-avatar", "dashscope/wan2.7-r2v"


def pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    values = sorted(values)
    return round(values[min(len(values) - 1, int(q * len(values)))], 2)


def rss_of(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(stat[21]) * os.sysconf("SC_PAGE_SIZE")
        except (FileNotFoundError, ProcessLookupError, IndexError):
            pass
    return total


def group_pids(pgid: int) -> list[int]:
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.getpgid(int(entry)) == pgid:
                    pids.append(int(entry))
            except ProcessLookupError:
                pass
    return pids


class Platform:
    def __init__(self, env: dict[str, str], work: Path, workers: int, web_port: int, emu_port: int,
                 args: argparse.Namespace) -> None:
        self.env, self.work = env, work
        self.procs: dict[str, subprocess.Popen] = {}
        self.commands = {
            "emulator": [*MANAGE, "provider_emulator", "--port", str(emu_port), "--queued-s", "0.5",
                         "--running-s", str(args.running_s), "--running-spread", str(args.spread),
                         "--concurrency", "1000000", "--render-workers", "2", "--reuse-renders",
                         "--max-logged", "2000"],
            "web": [sys.executable, "-m", "gunicorn", "config.wsgi", "-b", f"127.0.0.1:{web_port}", "-k", "gthread",
                    "-w", str(args.web_workers), "--threads", "4", "--log-level", "warning"],
            "worker": [*MANAGE, "qcluster"],
            "poller": [*MANAGE, "job_poller", "--report-every", "10"],
        }
        self.workers = workers

    def start(self, name: str) -> None:
        log = open(self.work / f"{name}.log", "ab")  # noqa: SIM115
        self.procs[name] = subprocess.Popen(self.commands[name], env=self.env, cwd=ROOT, stdout=log,
                                            stderr=subprocess.STDOUT, start_new_session=True)

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        proc = self.procs[name]
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            pass
        proc.wait(timeout=60)

    def stop(self) -> None:
        for name in ("poller", "worker", "web", "emulator"):
            if name in self.procs and self.procs[name].poll() is None:
                try:
                    self.kill(name, signal.SIGTERM)
                except subprocess.TimeoutExpired:
                    self.kill(name)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=5000)
    parser.add_argument("--dashscope-share", type=float, default=0.1)
    parser.add_argument("--running-s", type=float, default=180.0)
    parser.add_argument("--spread", type=float, default=0.3)
    parser.add_argument("--workers", type=int, default=2, help="django-q2 workers (Q_WORKERS).")
    parser.add_argument("--web-workers", type=int, default=2)
    parser.add_argument("--poll-interval", type=float, default=15.0)
    parser.add_argument("--poller-concurrency", type=int, default=24)
    parser.add_argument("--kill-worker-at", type=float, default=0.0)
    parser.add_argument("--timeout", type=float, default=1200.0)
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith("postgres") or not os.environ.get("REDIS_URL"):
        sys.exit("Set DATABASE_URL (PostgreSQL) and REDIS_URL, each the benchmark's own.")

    work = Path(tempfile.mkdtemp(prefix="parley-lifecycle-"))
    web_port, emu_port = free_port(), free_port()
    env = {
        **os.environ, "DEBUG": "0", "SECRET_KEY": secrets.token_urlsafe(32), "SECURE_COOKIES": "0",
        "BEHIND_TLS_PROXY": "0", "SECURE_SSL_REDIRECT": "0", "MEDIA_ROOT": str(work / "media"), "PORT": str(web_port),
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{web_port}", "PROVIDER_EMULATOR_URL": f"http://127.0.0.1:{emu_port}",
        "Q_WORKERS": str(args.workers), "Q_CLUSTER_NAME": f"lifecycle-{os.getpid()}", "LOG_LEVEL": "INFO",
        "LOG_FORMAT": "plain",  # the poller's report lines are read back (poller_load.REPORT)
        "WAVESPEED_CONCURRENCY": "100000", "FAL_CONCURRENCY": "100000", "DASHSCOPE_CONCURRENCY": "100000",
        "TENANT_MAX_RUNNING_JOBS": "100000",  # one tenant makes them all: its cap (10 by default) would queue them
        "JOB_POLL_INTERVAL_S": str(args.poll_interval), "JOB_POLL_MAX_INTERVAL_S": str(args.poll_interval),
        "JOB_POLL_NEAR_INTERVAL_S": "3", "POLLER_CONCURRENCY": str(args.poller_concurrency),
    }
    for name in ("WAVESPEED_API_KEY", "FAL_KEY", "DASHSCOPE_API_KEY"):
        env.pop(name, None)
    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.db import connection

    with connection.cursor() as c:
        c.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
    import redis

    redis.from_url(env["REDIS_URL"]).flushdb()
    subprocess.run([*MANAGE, "migrate", "-v0"], env=env, check=True)
    out = subprocess.run([*MANAGE, "create_tenant", "Bench", "--owner", "bench@example.com", "--api-key", "--test-key",
                          "--json"], env=env, check=True, capture_output=True, text=True).stdout
    key = json.loads(out)["api_key"]

    platform = Platform(env, work, args.workers, web_port, emu_port, args)
    for name in ("emulator", "web", "worker", "poller"):
        platform.start(name)
    try:
        report = run(args, platform, key, web_port, emu_port, work)
    finally:
        platform.stop()
    print(json.dumps(report, indent=2))


def run(args: argparse.Namespace, platform: Platform, key: str, web_port: int, emu_port: int, work: Path) -> dict:
    from django.db import connection

    from tests.media_fixtures import make_png, make_wav

    base = f"http://127.0.0.1:{web_port}/api/v1"
    client = httpx.Client(headers={"Authorization": f"Bearer {key}"}, timeout=120,
                          limits=httpx.Limits(max_connections=16))
    for _ in range(300):
        try:
            if client.get(f"{base}/models").status_code == 200 and \
                    httpx.get(f"http://127.0.0.1:{emu_port}/_emulator/health").status_code == 200:
                break
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    png, wav = make_png(work / "face.png"), make_wav(work / "speech.wav", seconds=3.0)
    assets = {name: client.post(f"{base}/assets", files={"file": path.open("rb")}).json()["id"]
              for name, path in (("image", png), ("audio", wav))}
    bodies = {
        FAL: {"model": FAL, "input": {"image_url": assets["image"], "audio_url": assets["audio"], "prompt": "Talk",
                                      "num_frames": 81}},
        DASHSCOPE: {"model": DASHSCOPE, "input": {"prompt": "Image 1 talks", "duration": 2,
                                                  "media": [{"type": "reference_image", "url": assets["image"]}]}},
    }
    every = max(1, round(1 / args.dashscope_share)) if args.dashscope_share else 0

    def create(index: int) -> tuple[int, float, str]:
        model = DASHSCOPE if every and index % every == 0 else FAL
        t = time.monotonic()
        response = client.post(f"{base}/jobs", json=bodies[model])
        return response.status_code, time.monotonic() - t, response.text if response.status_code != 201 else ""

    t0 = time.monotonic()
    samples: list[dict] = []
    killed_at = restarted_at = None
    create_pool = ThreadPoolExecutor(max_workers=8)
    created = create_pool.map(create, range(args.jobs))
    results: list[tuple[int, float, str]] = []
    creating = True

    def sample() -> dict:
        with connection.cursor() as c:
            c.execute("SELECT status, count(*) FROM jobs_job GROUP BY status")
            counts = dict(c.fetchall())
        procs = platform.procs
        return {"t": round(time.monotonic() - t0, 1), **counts,
                "rss_poller": rss_of(group_pids(procs["poller"].pid)),
                "rss_worker": rss_of(group_pids(procs["worker"].pid)),
                "rss_worker_max_process": max((rss_of([p]) for p in group_pids(procs["worker"].pid)), default=0),
                "rss_web": rss_of(group_pids(procs["web"].pid)),
                "rss_emulator": rss_of([procs["emulator"].pid])}

    import threading

    def collect() -> None:
        results.extend(created)

    collector = threading.Thread(target=collect)
    collector.start()
    while True:
        time.sleep(5)
        now = time.monotonic() - t0
        if args.kill_worker_at and killed_at is None and now >= args.kill_worker_at:
            platform.kill("worker")
            killed_at = now
        if killed_at is not None and restarted_at is None and now >= killed_at + 5:
            platform.start("worker")
            restarted_at = now
        s = sample()
        samples.append(s)
        creating = collector.is_alive()
        unfinished = sum(s.get(k, 0) for k in ("queued", "submitting", "running", "finalizing"))
        print(json.dumps(s), file=sys.stderr, flush=True)
        if not creating and unfinished == 0:
            break
        if now > args.timeout:
            break
    collector.join()
    create_pool.shutdown()
    wall = time.monotonic() - t0
    return summarize(args, samples, results, wall, emu_port, work, killed_at, restarted_at)


def summarize(args, samples, results, wall, emu_port, work, killed_at, restarted_at) -> dict:  # noqa: ANN001
    from django.db import connection

    tasks = httpx.get(f"http://127.0.0.1:{emu_port}/_emulator/tasks", timeout=120).json()["tasks"]
    finished = {t["id"]: t["finished_at"] for t in tasks if t["finished_at"]}
    with connection.cursor() as c:
        c.execute("""SELECT j.id, j.model_id, j.status, j.provider_request_id, j.provider_duplicates,
                            extract(epoch FROM j.completed_at),
                            (SELECT extract(epoch FROM min(e.created_at)) FROM jobs_jobevent e
                              WHERE e.job_id = j.id AND e.to_status = 'finalizing' AND e.from_status = 'running')
                     FROM jobs_job j""")
        jobs = c.fetchall()
        c.execute("SELECT job_id, count(*) FROM billing_usagerecord GROUP BY job_id")
        charges = dict(c.fetchall())
    statuses = Counter(j[2] for j in jobs)
    by_request = Counter(j[3] for j in jobs if j[3])
    completion: dict[str, list[float]] = {FAL: [], DASHSCOPE: []}
    detection: dict[str, list[float]] = {FAL: [], DASHSCOPE: []}
    done_times = []
    for _id, model, status, request_id, _dups, completed, finalizing in jobs:
        end = finished.get(request_id)
        if status == "succeeded" and end and completed:
            completion[model].append(float(completed) - end)
            done_times.append(float(completed))
        if end and finalizing:
            detection[model].append(float(finalizing) - end)
    # The poller learns a model's render times from its first three finished renders (and looks again
    # 30 s after finding too few): DashScope jobs that ended before then were polled without them.
    ds_ends = sorted(finished[j[3]] for j in jobs if j[1] == DASHSCOPE and j[3] in finished)
    history_from = ds_ends[2] + 30 if len(ds_ends) >= 3 else float("inf")
    ds_detection_with_history = [float(fin) - finished[rid] for _i, model, _s, rid, _d, _c, fin in jobs
                                 if model == DASHSCOPE and rid in finished and fin and finished[rid] >= history_from]
    ds_completion_with_history = [float(done) - finished[rid] for _i, model, st, rid, _d, done, _f in jobs
                                  if model == DASHSCOPE and st == "succeeded" and rid in finished and done
                                  and finished[rid] >= history_from]
    per_minute = Counter(int((t - min(done_times)) // 60) for t in done_times) if done_times else Counter()
    poller_log = (work / "poller.log").read_text(errors="replace")
    reports = [(_when(m[1], m[2]), *map(float, m.groups()[2:])) for m in REPORT.finditer(poller_log)]
    busy = [r for r in reports if r[1] > 0]
    logs = "".join((work / f"{n}.log").read_text(errors="replace") for n in ("web", "worker", "poller"))
    creates = [r[1] for r in results if r[0] == 201]
    return {
        "jobs": args.jobs, "dashscope_share": args.dashscope_share, "running_s": args.running_s,
        "spread": args.spread, "poll_interval_s": args.poll_interval, "q_workers": args.workers,
        "poller_concurrency": args.poller_concurrency, "web": f"gunicorn gthread {args.web_workers}x4",
        "wall_s": round(wall, 1), "kill_worker_at_s": killed_at, "worker_restarted_at_s": restarted_at,
        "create_errors": Counter(r[0] for r in results if r[0] != 201), "create_p50_s": pct(creates, 0.5),
        "create_p95_s": pct(creates, 0.95), "statuses": dict(statuses),
        "finished_per_minute": [per_minute[k] for k in sorted(per_minute)],
        "most_running": max((s.get("running", 0) for s in samples), default=0),
        "most_held_by_the_poller": int(max((r[2] for r in reports), default=0)),
        "poll_lag_p50_s": pct([r[4] for r in busy], 0.5),
        "poll_lag_p95_s_median_of_reports": pct([r[5] for r in busy], 0.5),
        "poll_lag_p95_s_worst_report": max((r[5] for r in busy), default=None),
        "polls_per_s_peak": round(max(((b[3] - a[3]) / (b[0] - a[0])
                                       for a, b in zip(reports, reports[1:], strict=False)), default=0), 1),
        **{f"completion_to_succeeded_{m.split('/')[0]}_p{q}": pct(completion[m], q / 100)
           for m in (FAL, DASHSCOPE) for q in (50, 95, 99)},
        **{f"completion_to_finalizing_{m.split('/')[0]}_p{q}": pct(detection[m], q / 100)
           for m in (FAL, DASHSCOPE) for q in (50, 95)},
        "dashscope_jobs_ending_once_history_known": len(ds_detection_with_history),
        **{f"completion_to_finalizing_dashscope_with_history_p{q}": pct(ds_detection_with_history, q / 100)
           for q in (50, 95, 99)},
        **{f"completion_to_succeeded_dashscope_with_history_p{q}": pct(ds_completion_with_history, q / 100)
           for q in (50, 95, 99)},
        "rss_mb_max": {k: round(max(s[k] for s in samples) / 2**20, 1) for k in samples[0] if k.startswith("rss_")},
        "lost": sum(v for k, v in statuses.items() if k not in ("succeeded", "failed", "canceled")),
        "failed": statuses.get("failed", 0),
        "provider_tasks": len(tasks), "tasks_beyond_one_per_job": len(tasks) - len(by_request),
        "jobs_sharing_a_task": sum(1 for n in by_request.values() if n > 1),
        "provider_duplicates_recorded": sum(j[4] for j in jobs),
        "double_charged": sum(1 for n in charges.values() if n > 1),
        "charged_not_succeeded": sum(1 for j in jobs if j[0] in charges and j[2] != "succeeded"),
        "tracebacks": logs.count("Traceback"), "logs": str(work),
        "load_average_at_end": os.getloadavg(),
    }


if __name__ == "__main__":
    main()

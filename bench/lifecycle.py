"""Job lifecycle benchmark: N jobs created at once through the real API, run by the real
processes (web, django-q2 workers, poller, provider emulator), on a fresh database.

It measures wall time to drain the batch, per-job latency (created -> succeeded), and counts
"database is locked" errors in every process's log (the embedded SQLite default must have none).

    .venv/bin/python bench/lifecycle.py --jobs 20 --model local/still
    .venv/bin/python bench/lifecycle.py --jobs 20 --model fal-ai/ai-avatar
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/parley_bench REDIS_URL=redis://127.0.0.1:6379/5 \
        .venv/bin/python bench/lifecycle.py --jobs 40
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.media_fixtures import make_png, make_wav  # noqa: E402

INPUTS = {
    "local/still": lambda a: {"image": a["image"], "audio": a["audio"]},
    "wavespeed-ai/wan-2.1/multitalk": lambda a: {"image": a["image"], "audio": a["audio"]},
    "fal-ai/ai-avatar": lambda a: {"image_url": a["image"], "audio_url": a["audio"], "prompt": "Talk",
                                   "num_frames": 81},
    "dashscope/wan2.7-r2v": lambda a: {"prompt": "Image 1 talks", "duration": 2,
                                       "media": [{"type": "reference_image", "url": a["image"]}]},
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=20)
    parser.add_argument("--model", default="local/still", choices=sorted(INPUTS))
    parser.add_argument("--audio-seconds", type=float, default=3.0)
    parser.add_argument("--port", type=int, default=8123)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="parley-bench-"))
    env = {
        **os.environ,
        "DATABASE_URL": os.environ.get("DATABASE_URL", f"sqlite:///{work / 'bench.sqlite3'}"),
        "MEDIA_ROOT": str(work / "media"),
        "PORT": str(args.port),
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{args.port}",
        "PROVIDER_EMULATOR_URL": f"http://127.0.0.1:{args.port + 1}",
        "Q_WORKERS": str(args.workers),
        "Q_CLUSTER_NAME": f"bench-{os.getpid()}",
        "WAVESPEED_CONCURRENCY": "100", "FAL_CONCURRENCY": "100", "DASHSCOPE_CONCURRENCY": "100",
        "TENANT_MAX_RUNNING_JOBS": "10000",  # one tenant makes them all: its cap (10 by default) would queue them
        "LOG_LEVEL": "WARNING",
    }
    env.pop("WAVESPEED_API_KEY", None), env.pop("FAL_KEY", None), env.pop("DASHSCOPE_API_KEY", None)
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "-v0"], env=env, check=True)
    out = subprocess.run([*manage, "create_tenant", "Bench", "--owner", "bench@example.com", "--api-key", "--json"],
                         env=env, check=True, capture_output=True, text=True).stdout
    key = json.loads(out)["api_key"]
    log = open(work / "platform.log", "wb")  # noqa: SIM115
    platform = subprocess.Popen([*manage, "run_platform", "--port", str(args.port)], env=env, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{args.port}/api/v1"
    client = httpx.Client(headers={"Authorization": f"Bearer {key}"}, timeout=60)
    try:
        for _ in range(100):
            try:
                if client.get(f"{base}/models").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        png, wav = make_png(work / "face.png"), make_wav(work / "speech.wav", seconds=args.audio_seconds)
        assets = {name: client.post(f"{base}/assets", files={"file": path.open("rb")}).json()["id"]
                  for name, path in (("image", png), ("audio", wav))}
        body = {"model": args.model, "input": INPUTS[args.model](assets)}

        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=8) as pool:
            created = list(pool.map(lambda _: client.post(f"{base}/jobs", json=body), range(args.jobs)))
        create_s = time.monotonic() - started
        errors = [r.text for r in created if r.status_code != 201]
        ids = [r.json()["id"] for r in created if r.status_code == 201]
        final: dict[str, dict] = {}
        while len(final) < len(ids) and time.monotonic() - started < 1800:
            for job_id in ids:
                if job_id not in final:
                    job = client.get(f"{base}/jobs/{job_id}").json()
                    if job["status"] in ("succeeded", "failed", "canceled"):
                        final[job_id] = job
            time.sleep(0.5)
        drain_s = time.monotonic() - started
    finally:
        os.killpg(platform.pid, 15)
        platform.wait(timeout=30)
        log.close()
    from datetime import datetime

    def seconds(job: dict) -> float:
        return (datetime.fromisoformat(job["completed_at"]) - datetime.fromisoformat(job["created_at"])).total_seconds()

    latencies = sorted(seconds(j) for j in final.values() if j["status"] == "succeeded")
    text = (work / "platform.log").read_text(errors="replace")
    report = {
        "model": args.model, "jobs": args.jobs, "database": env["DATABASE_URL"].split(":", 1)[0],
        "broker": "redis" if os.environ.get("REDIS_URL") else "orm", "workers": args.workers,
        "create_errors": len(errors), "succeeded": sum(j["status"] == "succeeded" for j in final.values()),
        "failed": sum(j["status"] == "failed" for j in final.values()), "unfinished": len(ids) - len(final),
        "create_s": round(create_s, 2), "drain_s": round(drain_s, 2),
        "latency_p50_s": round(statistics.median(latencies), 2) if latencies else None,
        "latency_p95_s": round(latencies[int(0.95 * (len(latencies) - 1))], 2) if latencies else None,
        "database_locked_errors": text.count("database is locked"),
        "tracebacks": text.count("Traceback"),
        "logs": str(work / "platform.log"),
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()

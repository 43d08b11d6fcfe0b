"""The API at 100,000 jobs, under gunicorn: job creation against a bare authenticated endpoint in
the same run, and the jobs list's latency and SQL queries per page size.

Empties the database's ``public`` schema, migrates, makes a tenant with a live and a test key, and
writes ``--jobs`` jobs straight into PostgreSQL (90 % the measured tenant's, live; 10 % another's),
each with ``--events`` timeline events and, when succeeded, its usage record. Optionally VACUUM
ANALYZEs (``--vacuum``; the development PostgreSQL may run with autovacuum off). Then starts
gunicorn (``bench/bench_settings.py``: the project plus ``POST /api/v1/_bench/bare``, which only
authenticates the key, checks the role and parses the body) and, from one client, alternates
``POST /api/v1/jobs`` (live and test keys) with the bare endpoint, then times ``GET /api/v1/jobs``
at each page size (and with ``?status=``, ``?expand=events`` and deeper pages by cursor). The SQL
queries per page size are counted in this process against the same database, and the planner's
plan of each list query is printed.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/parley_poll REDIS_URL=redis://127.0.0.1:6379/6 \\
        .venv/bin/python bench/api_scale.py --jobs 100000 --vacuum
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
MANAGE = [sys.executable, str(ROOT / "manage.py")]

from poller_load import free_port  # noqa: E402

SEED_JOBS = """
INSERT INTO jobs_job (id, model_id, provider, status, input, livemode, quote_seconds, quote_amount, quote_currency,
    provider_request_id, provider_handle, emulated, provider_status, progress, result_url, attempts, next_attempt_at,
    output, output_duration_s, output_width, output_height, output_frames, output_size_bytes, error_code,
    error_message, created_at, started_at, completed_at, updated_at, tenant_id, provider_duplicates, webhook,
    webhook_events_filter)
SELECT gen_random_uuid(), 'fal-ai/ai-avatar', 'fal', st, %(input)s::jsonb, true, 3.240, 0.81, 'usd',
    'req-' || md5(g::text), '{"request_id": "r"}'::jsonb, true, 'COMPLETED', 1.0, '', 0,
    CASE WHEN st = 'running' THEN now() + interval '1 hour' END,
    CASE WHEN st = 'succeeded' THEN 'tenants/x/outputs/' || g || '.mp4' ELSE '' END,
    CASE WHEN st = 'succeeded' THEN 3.240 END, 512, 512, 81, 250000,
    CASE WHEN st = 'failed' THEN 'provider_failed' ELSE '' END,
    CASE WHEN st = 'failed' THEN 'The provider failed the job: bad face' ELSE '' END,
    now() - g * interval '13 seconds', now() - g * interval '13 seconds' + interval '1 second',
    CASE WHEN st <> 'running' THEN now() - g * interval '13 seconds' + interval '90 seconds' END,
    now(), %(tenant)s, 0, '', '[]'::jsonb
FROM (SELECT g, CASE WHEN g %% 20 = 0 THEN 'failed' WHEN g %% 97 = 0 THEN 'running' ELSE 'succeeded' END AS st
      FROM generate_series(%(first)s, %(last)s) g) s
"""
SEED_EVENTS = """
INSERT INTO jobs_jobevent (from_status, to_status, message, data, created_at, job_id, tenant_id)
SELECT 'running', 'running', 'The provider reports: running (' || k || ').', '{"logs": ["step"]}'::jsonb,
       j.created_at + k * interval '1 second', j.id, j.tenant_id
FROM jobs_job j, generate_series(1, %(events)s) k
"""
SEED_CHARGES = """
INSERT INTO billing_usagerecord (model_id, livemode, seconds, billable_seconds, unit_price, multiplier,
    provider_amount, price_multiplier, amount, capped_by_quote, currency, created_at, job_id, tenant_id)
SELECT model_id, livemode, 3.240, 4, 0.25, 1, 0.81, 1, 0.81, false, 'usd', completed_at, id, tenant_id
FROM jobs_job WHERE status = 'succeeded'
"""


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return round(values[min(len(values) - 1, int(q * len(values)))] * 1000, 1)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=6)
    parser.add_argument("--vacuum", action="store_true")
    parser.add_argument("--rounds", type=int, default=200, help="Requests per measured endpoint.")
    parser.add_argument("--web-workers", type=int, default=2)
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        sys.exit("Set DATABASE_URL to a PostgreSQL database of the benchmark's own.")
    work = Path(tempfile.mkdtemp(prefix="parley-api-bench-"))
    port = free_port()
    env = {**os.environ, "DEBUG": "0", "SECRET_KEY": secrets.token_urlsafe(32), "SECURE_COOKIES": "0",
           "BEHIND_TLS_PROXY": "0", "SECURE_SSL_REDIRECT": "0", "MEDIA_ROOT": str(work / "media"),
           "LOG_LEVEL": "WARNING",
           "Q_CLUSTER_NAME": f"api-bench-{os.getpid()}", "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}"}
    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()

    tenant, keys, seed_s = seed_database(env=env, jobs=args.jobs, events=args.events, vacuum=args.vacuum)

    gunicorn = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "config.wsgi", "--pythonpath", str(ROOT / "bench"), "-b",
         f"127.0.0.1:{port}", "-w", str(args.web_workers), "--log-level", "warning"],
        env={**env, "DJANGO_SETTINGS_MODULE": "bench_settings"}, cwd=ROOT,
        stdout=open(work / "gunicorn.log", "wb"), stderr=subprocess.STDOUT, start_new_session=True)
    try:
        report = measure(args, port, tenant, keys, work)
    finally:
        os.killpg(gunicorn.pid, signal.SIGTERM)
        gunicorn.wait(timeout=30)
    report.update({"jobs_in_database": args.jobs, "events_per_job": args.events, "seed_s": round(seed_s, 1),
                   "vacuum_analyze_before": args.vacuum, "web_workers": args.web_workers,
                   "load_average_at_end": os.getloadavg()})
    report.update(in_process(tenant, keys))
    report["creations_queued"] = _queued_tasks_drop()
    print(json.dumps(report, indent=2))


def _queued_tasks_drop() -> int:
    """How many job tasks gunicorn pushed to the broker (each creation's, pushed once its answer was
    sent: none may be missing), then the queue goes (no worker runs in this benchmark)."""
    from config.task_broker import shared_broker

    broker = shared_broker()
    queued = broker.queue_size()
    broker.delete_queue()
    return queued


def seed_database(*, env: dict[str, str], jobs: int, events: int, vacuum: bool):  # noqa: ANN201
    """Empty the database's schema, migrate it, and write ``jobs`` jobs straight into it (90 % the
    measured tenant's, the rest another's) with ``events`` events each and a charge per succeeded
    job; then (VACUUM) ANALYZE. Returns the measured tenant, its keys by mode and the seconds the
    rows took. Also used by ``dashboard_scale.py``."""
    from django.db import connection

    with connection.cursor() as c:
        c.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
    subprocess.run([*MANAGE, "migrate", "-v0"], env=env, check=True)
    tenant, keys = _tenant_and_keys()
    other, _ = _tenant_and_keys("Other")
    started = time.monotonic()
    mine = int(jobs * 0.9)
    with connection.cursor() as c:
        payload = json.dumps({"prompt": "Talk", "num_frames": 81, "image_url": "asset", "audio_url": "asset"})
        c.execute(SEED_JOBS, {"input": payload, "tenant": str(tenant.id), "first": 1, "last": mine})
        c.execute(SEED_JOBS, {"input": payload, "tenant": str(other.id), "first": mine + 1, "last": jobs})
        c.execute(SEED_EVENTS, {"events": events})
        c.execute(SEED_CHARGES)
        c.execute("SELECT count(*) FROM jobs_job"), print("jobs", c.fetchone()[0], file=sys.stderr)
        c.execute("SELECT count(*) FROM jobs_jobevent"), print("events", c.fetchone()[0], file=sys.stderr)
    seed_s = time.monotonic() - started
    with connection.cursor() as c:
        c.execute("VACUUM ANALYZE" if vacuum else "ANALYZE")
    return tenant, keys, seed_s


def _tenant_and_keys(name: str = "Bench"):  # noqa: ANN202
    from accounts.actors import Actor
    from accounts.models import ApiKeyMode, Role
    from accounts.services import api_key_create, tenant_create, user_create

    owner = user_create(email=f"{name.lower()}-{secrets.token_hex(4)}@example.com", password=None)
    tenant = tenant_create(name=name, owner=owner)
    actor = Actor(tenant=tenant, role=Role.OWNER, user=owner)
    keys = {mode: api_key_create(tenant=tenant, actor=actor, name=mode, mode=mode, role=Role.ADMIN)[1]
            for mode in (ApiKeyMode.LIVE, ApiKeyMode.TEST)}
    return tenant, keys


def measure(args: argparse.Namespace, port: int, tenant, keys: dict[str, str], work: Path) -> dict:  # noqa: ANN001
    from tests.media_fixtures import make_png, make_wav

    base = f"http://127.0.0.1:{port}/api/v1"
    clients = {mode: httpx.Client(headers={"Authorization": f"Bearer {key}"}, timeout=60)
               for mode, key in keys.items()}
    live, test = clients["live"], clients["test"]
    for _ in range(300):
        try:
            if live.get(f"{base}/models").status_code == 200:
                break
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    png, wav = make_png(work / "face.png"), make_wav(work / "speech.wav", seconds=3.0)
    assets = {name: live.post(f"{base}/assets", files={"file": path.open("rb")}).json()["id"]
              for name, path in (("image", png), ("audio", wav))}
    body = {"model": "fal-ai/ai-avatar", "input": {"image_url": assets["image"], "audio_url": assets["audio"],
                                                   "prompt": "Talk", "num_frames": 81}}

    def timed(client: httpx.Client, method: str, url: str, **kwargs: object) -> tuple[float, httpx.Response]:
        t = time.perf_counter()
        response = client.request(method, url, **kwargs)
        return time.perf_counter() - t, response

    for _ in range(20):  # warm up every worker's connections and caches
        timed(live, "POST", f"{base}/_bench/bare", json=body), timed(live, "POST", f"{base}/jobs", json=body)
    samples: dict[str, list[float]] = {"bare": [], "create_live": [], "create_test": []}
    for _ in range(args.rounds):  # interleaved, so that the machine's other load falls on all alike
        for name, client, url in (("bare", live, "_bench/bare"), ("create_live", live, "jobs"),
                                  ("create_test", test, "jobs")):
            seconds, response = timed(client, "POST", f"{base}/{url}", json=body)
            assert response.status_code == 201, response.text
            samples[name].append(seconds)
    report: dict = {"creation_ms": {k: {"p50": pct(v, 0.5), "p95": pct(v, 0.95)} for k, v in samples.items()}}
    bare = statistics.median(samples["bare"])
    report["creation_median_over_bare"] = {k: round(statistics.median(v) / bare, 2)
                                           for k, v in samples.items() if k != "bare"}

    lists: dict[str, dict] = {}
    for label, query in [(f"limit={n}", f"limit={n}") for n in (10, 20, 50, 100)] + [
            ("limit=100&status=failed", "limit=100&status=failed"),
            ("limit=100&status=running", "limit=100&status=running"),
            ("limit=100&expand=events", "limit=100&expand=events")]:
        times, size = [], 0
        for _ in range(args.rounds // 2):
            seconds, response = timed(live, "GET", f"{base}/jobs?{query}")
            assert response.status_code == 200, response.text
            times.append(seconds)
            size = len(response.content)
        lists[label] = {"p50_ms": pct(times, 0.5), "p95_ms": pct(times, 0.95), "kb": round(size / 1024, 1)}
    deep, url = [], f"{base}/jobs?limit=100"
    for _ in range(50):  # 50 pages deep by cursor
        seconds, response = timed(live, "GET", url)
        deep.append(seconds)
        url = response.json()["next"]
        if url is None:
            break
    lists[f"limit=100, pages 1-{len(deep)} by cursor"] = {"p50_ms": pct(deep, 0.5), "p95_ms": pct(deep, 0.95)}
    report["list_ms"] = lists
    return report


def in_process(tenant, keys: dict[str, str]) -> dict:  # noqa: ANN001
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from rest_framework.test import APIClient

    from jobs.selectors import job_list

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {keys['live']}")
    client.get("/api/v1/models")  # the key's last_used_at
    counts = {}
    for query in ("limit=1", "limit=10", "limit=50", "limit=100", "limit=100&expand=events"):
        with CaptureQueriesContext(connection) as queries:
            assert client.get(f"/api/v1/jobs?{query}").status_code == 200
        counts[query] = len(queries.captured_queries)
    plans = {
        "all": job_list(tenant=tenant, livemode=True)[:101].explain(),
        "status": job_list(tenant=tenant, livemode=True, status="failed")[:101].explain(),
    }
    return {"list_sql_queries": counts, "plans": {k: v.splitlines() for k, v in plans.items()}}


if __name__ == "__main__":
    main()

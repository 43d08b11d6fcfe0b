"""The dashboard's jobs list at 100,000 jobs: each page's latency and SQL queries, in this process.

Empties the database's ``public`` schema, migrates, and seeds it as ``api_scale.py`` does (90 % of
``--jobs`` the measured tenant's, live, each with ``--events`` timeline events and a charge when
succeeded; images as their thumbnails), VACUUM ANALYZEs, signs the tenant's owner in, and times
``GET /jobs/`` through Django's test client (the whole view and template, no HTTP): the first
page, the htmx refresh of its table, pages 2 to 50 by cursor, and the filters (status, model,
API key, days, a job id's start). Counts each request's SQL queries.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/parley_dash_bench \\
        .venv/bin/python bench/dashboard_scale.py --jobs 100000
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from api_scale import pct, seed_database  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=6)
    parser.add_argument("--rounds", type=int, default=100, help="Requests per measured page.")
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        sys.exit("Set DATABASE_URL to a PostgreSQL database of the benchmark's own.")
    env = {**os.environ, "DEBUG": "0", "SECRET_KEY": secrets.token_urlsafe(32), "SECURE_SSL_REDIRECT": "0",
           "LOG_LEVEL": "WARNING", "ALLOWED_HOSTS": "testserver"}
    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from accounts.models import ApiKey, User
    from jobs.models import Job

    tenant, _keys, seed_s = seed_database(env=env, jobs=args.jobs, events=args.events, vacuum=True)
    print(f"seeded {args.jobs} jobs in {seed_s:.0f} s", file=sys.stderr)

    owner = User.objects.filter(memberships__tenant=tenant).first()
    client = Client()
    client.force_login(owner)
    client.get("/jobs/")  # the session's first request may write
    key_id = ApiKey.objects.filter(tenant=tenant, mode="live").values_list("id", flat=True).first()
    some_id = str(Job.objects.filter(tenant=tenant).order_by("-created_at").values_list("id", flat=True)[5000])

    def timed(url: str, **headers: str) -> tuple[float, int, str]:
        with CaptureQueriesContext(connection) as queries:
            t0 = time.perf_counter()
            response = client.get(url, **headers)
            elapsed = time.perf_counter() - t0
        assert response.status_code == 200, (url, response.status_code)
        return elapsed, len(queries), response.content.decode()

    def measure(label: str, url: str, **headers: str) -> dict:
        times, counts = [], set()
        for _ in range(args.rounds):
            elapsed, count, _ = timed(url, **headers)
            times.append(elapsed)
            counts.add(count)
        row = {"page": label, "p50_ms": pct(times, 0.5), "p95_ms": pct(times, 0.95), "sql": sorted(counts)}
        print(json.dumps(row), file=sys.stderr)
        return row

    rows = [measure("first page", "/jobs/"), measure("htmx table refresh", "/jobs/", HTTP_HX_REQUEST="true")]
    # Deep pages: follow the "Older" cursor 50 pages down, timing each step.
    url, times, counts = "/jobs/", [], set()
    for _ in range(50):
        elapsed, count, html = timed(url)
        times.append(elapsed)
        counts.add(count)
        older = re.search(r'href="\?older=([^"&]+)"', html)
        url = f"/jobs/?older={older.group(1)}"
    rows.append({"page": "pages 1-50 by cursor", "p50_ms": pct(times, 0.5), "p95_ms": pct(times, 0.95),
                 "sql": sorted(counts)})
    print(json.dumps(rows[-1]), file=sys.stderr)
    rows.append(measure("?status=failed", "/jobs/?status=failed"))
    rows.append(measure("?status=running", "/jobs/?status=running"))
    rows.append(measure("?model=fal-ai/ai-avatar", "/jobs/?model=fal-ai/ai-avatar"))
    rows.append(measure("?key= (an API key)", f"/jobs/?key={key_id}"))
    rows.append(measure("?created_from=&created_to= (one day)", "/jobs/?created_from=2026-11-20&created_to=2026-11-20"))
    rows.append(measure("?q= (a job id's first 8 characters)", f"/jobs/?q={some_id[:8]}"))
    print(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()

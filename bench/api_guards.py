"""What the API's guards cost per request: counting a request against its rate limits (Redis or
the cache), and an Idempotency-Key (claim, run, store; or a replay), on a fresh database.

    .venv/bin/python bench/api_guards.py
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/parley_bench REDIS_URL=redis://127.0.0.1:6379/5 \\
        .venv/bin/python bench/api_guards.py
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def timed(n: int, call: Callable[[int], object]) -> tuple[float, float]:
    """(median, p95) milliseconds of ``call(i)`` over ``n`` runs."""
    samples = []
    for i in range(n):
        start = time.perf_counter()
        call(i)
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.95) - 1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", type=int, default=300)
    args = parser.parse_args()
    tmp = tempfile.mkdtemp(prefix="parley-bench-guards-")
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{tmp}/bench.sqlite3")
    os.environ.update(DJANGO_SETTINGS_MODULE="config.settings", MEDIA_ROOT=tmp, API_RATE_LIMIT_PER_KEY="1000000",
                      API_RATE_LIMIT_PER_TENANT="1000000")
    subprocess.run([sys.executable, str(ROOT / "manage.py"), "migrate", "-v", "0"], check=True, cwd=ROOT)
    import django

    django.setup()
    from django.conf import settings
    from django.test import Client

    from accounts.actors import Actor
    from accounts.models import Role
    from accounts.rate_limits import request_rate_count
    from accounts.services import api_key_create, tenant_create, user_create

    owner = user_create(email=f"bench-{uuid.uuid4().hex[:8]}@example.com", password="pw-Secret-123")
    tenant = tenant_create(name="Bench", owner=owner)
    key, secret = api_key_create(tenant=tenant, actor=Actor.system(tenant), name="bench", role=Role.ADMIN)
    key.tenant = tenant
    client = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    counter = "Redis" if settings.REDIS_URL else "local-memory cache"
    print(f"database: {settings.DATABASES['default']['ENGINE'].rsplit('.', 1)[-1]}, counters: {counter}, "
          f"n={args.n}\n")
    rows = [
        ("rate-limit count alone (request_rate_count)", timed(args.n, lambda i: request_rate_count(api_key=key))),
        ("GET /api/v1/models (counted)", timed(args.n, lambda i: client.get("/api/v1/models"))),
        ("POST /api/v1/api-keys, no Idempotency-Key",
         timed(args.n, lambda i: client.post("/api/v1/api-keys", {"name": f"a{i}"}, content_type="application/json"))),
        ("POST /api/v1/api-keys, a new Idempotency-Key each",
         timed(args.n, lambda i: client.post("/api/v1/api-keys", {"name": f"b{i}"}, content_type="application/json",
                                             HTTP_IDEMPOTENCY_KEY=f"k{i}"))),
        ("POST /api/v1/api-keys, a replay",
         timed(args.n, lambda i: client.post("/api/v1/api-keys", {"name": "b0"}, content_type="application/json",
                                             HTTP_IDEMPOTENCY_KEY="k0"))),
    ]
    print("| request | median ms | p95 ms |\n|---|---|---|")
    for name, (median, p95) in rows:
        print(f"| {name} | {median:.2f} | {p95:.2f} |")


if __name__ == "__main__":
    main()

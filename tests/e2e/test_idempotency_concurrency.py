"""The same POST /api/v1/jobs sent 20 times at once with one Idempotency-Key, to real gunicorn
servers (two processes of 16 threads) on the test database: one job, 20 identical answers."""

from __future__ import annotations

import html
import re
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from accounts.actors import Actor
from accounts.models import Role
from accounts.services import api_key_create
from jobs.models import Job
from tests.conftest import REQUIRE_SERVICES, upload
from tests.e2e.test_web_server import CONFIG, web_server  # noqa: F401 - a fixture

pytestmark = pytest.mark.e2e


def _explained(answers: list[httpx.Response], logs: Path) -> str:
    """What went wrong, when something did: each refused answer's error (Django's debug page names
    the exception's value) and the servers' log, where the traceback is."""
    lines = []
    for answer in answers:
        if answer.status_code != 201:
            value = re.search(r'<pre class="exception_value">(.*?)</pre>', answer.text, re.S)
            lines.append(f"{answer.status_code}: {html.unescape(value.group(1)) if value else answer.text[:500]}")
    for log in sorted(logs.glob("gunicorn-*.log")):
        lines.append(f"--- {log.name} ---\n{log.read_text(errors='replace')[-6000:]}")
    return "\n".join(lines)


def test_twenty_concurrent_repeats_create_one_job(transactional_db, web_server, tenant, member_client,  # noqa: F811
                                                  png_file, wav_file, tmp_path):
    from django.db import connection

    if connection.vendor != "postgresql" and REQUIRE_SERVICES:
        pytest.fail("REQUIRE_SERVICES=1 but the database is not PostgreSQL")
    url = web_server("-c", str(CONFIG), WEB_CONCURRENCY="2", WEB_THREADS="16",
                     Q_CLUSTER_NAME=f"idempotency-{uuid.uuid4().hex[:8]}")
    _, secret = api_key_create(tenant=tenant, actor=Actor.system(tenant), name="concurrent", role=Role.MEMBER)
    body = {"model": "local/still", "input": {"image": upload(member_client, png_file)["id"],
                                              "audio": upload(member_client, wav_file)["id"]}}
    key = str(uuid.uuid4())

    def send(_: int) -> httpx.Response:
        return httpx.post(f"{url}/api/v1/jobs", json=body, timeout=60,
                          headers={"Authorization": f"Bearer {secret}", "Idempotency-Key": key})

    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(pool.map(send, range(20)))
    assert [a.status_code for a in answers] == [201] * 20, _explained(answers, tmp_path)
    assert len({a.content for a in answers}) == 1
    assert sum(a.headers.get("Idempotent-Replayed") == "true" for a in answers) == 19
    assert Job.objects.filter(tenant=tenant).count() == 1
    assert str(Job.objects.get(tenant=tenant).pk) == answers[0].json()["id"]

    different = httpx.post(f"{url}/api/v1/jobs", json={**body, "input": {**body["input"], "resolution": "480p"}},
                           headers={"Authorization": f"Bearer {secret}", "Idempotency-Key": key}, timeout=30)
    assert different.status_code == 409 and key in different.json()["error"]["message"]
    assert Job.objects.filter(tenant=tenant).count() == 1

"""End to end: a real local/still job run by real worker and poller processes tells the tenant's
endpoint and the job's own webhook that it succeeded, signed, to a real receiver on loopback."""

from __future__ import annotations

import json

import pytest
from standardwebhooks.webhooks import Webhook

from accounts.models import Role
from tests.conftest import upload, wait_for
from tests.media_fixtures import make_png, make_wav

pytestmark = pytest.mark.e2e


def test_a_real_jobs_success_is_delivered(platform, api_client, member_client, receiver, tmp_path):
    workers = platform(OUTBOUND_ALLOWED_NETWORKS="127.0.0.0/8", WEBHOOK_ALLOW_HTTP="1")
    admin = api_client(Role.ADMIN)
    endpoint = admin.post("/api/v1/webhook-endpoints",
                          {"url": receiver.url, "events": ["job.running", "job.succeeded"]}, format="json").json()
    job_secret = admin.get("/api/v1/webhook-endpoints/default/secret").json()["key"]

    image = upload(member_client, make_png(tmp_path / "face.png"))
    audio = upload(member_client, make_wav(tmp_path / "speech.wav", seconds=1.5))
    response = member_client.post("/api/v1/jobs", {
        "model": "local/still", "input": {"image": image["id"], "audio": audio["id"]},
        "webhook": receiver.url + "?mine=1", "webhook_events_filter": ["completed"],
    }, format="json")
    assert response.status_code == 201, response.content
    job_id = response.json()["id"]

    def events():
        return [(r.path, json.loads(r.body)["type"]) for r in receiver.received]

    wait_for(lambda: len(events()) >= 3, timeout=240, message="three webhooks",
             on_timeout=lambda: f"{events()}\n{workers.output()}")
    assert sorted(events()) == [("/hooks", "job.running"), ("/hooks", "job.succeeded"),
                                ("/hooks?mine=1", "job.succeeded")], workers.output()
    for request in receiver.received:
        secret = endpoint["secret"] if request.path == "/hooks" else job_secret
        payload = Webhook(secret).verify(request.body, request.headers)  # the package's own verification
        assert payload["data"]["id"] == job_id
    succeeded = next(json.loads(r.body) for r in receiver.received if r.path == "/hooks?mine=1")
    assert succeeded["data"]["status"] == "succeeded"
    assert succeeded["data"]["output"]["url"].endswith(f"/api/v1/jobs/{job_id}/output")
    assert abs(succeeded["data"]["output"]["duration_s"] - 1.5) <= 0.1

    log = admin.get(f"/api/v1/webhook-endpoints/{endpoint['id']}/deliveries").json()["results"]
    assert sorted((d["event_type"], d["status_code"], d["message_status"]) for d in log) == [
        ("job.running", 200, "delivered"), ("job.succeeded", 200, "delivered")]

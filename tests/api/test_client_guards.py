"""The Python client (client/, package ``parley``) against this server's guards, over real HTTP
(the test's live server): it waits out a real 429 by its Retry-After, its cancel_after becomes the
job's deadline, and a replayed creation gives back the same job."""

from __future__ import annotations

import parley
import pytest

from jobs.models import Job

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_client_waits_out_a_real_rate_limit(live_server, member_client, settings, caplog):
    settings.API_RATE_WINDOW_S = 2
    settings.API_RATE_LIMIT_PER_KEY = 2
    with parley.Client(api_key=member_client.secret, base_url=live_server.url) as client:
        # Six calls at once span at most two 2-second windows of two calls each: at least one 429.
        pages = [client.jobs.list() for _ in range(6)]
    assert all(page.results == [] for page in pages)
    refused = [r for r in caplog.records if r.name == "parley.requests" and r.getMessage().endswith(" 429")]
    assert refused, "the server never answered 429: nothing was waited out"


def test_the_clients_cancel_after_and_idempotency_key_reach_the_job(live_server, member_client, png_file,
                                                                      wav_file):
    with parley.Client(api_key=member_client.secret, base_url=live_server.url) as client:
        inputs = {"image": png_file, "audio": wav_file}
        job = client.jobs.create(model="local/still", input=inputs, cancel_after="5m", idempotency_key="same-job")
        again = client.jobs.create(model="local/still", input={"image": job.input["image"],
                                                              "audio": job.input["audio"]},
                                   cancel_after="5m", idempotency_key="same-job")
    stored = Job.objects.get(pk=job.id)
    assert (stored.cancel_at - stored.created_at).total_seconds() == pytest.approx(300, abs=1)
    assert again.id == job.id and Job.objects.count() == 1

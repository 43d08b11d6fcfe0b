"""Webhook test fixtures: a real receiver on loopback, which the outbound-URL policy is told to
allow (OUTBOUND_ALLOWED_NETWORKS=127.0.0.0/8), over http (WEBHOOK_ALLOW_HTTP)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from accounts.actors import Actor
from accounts.models import Role
from tests.webhooks.receiver import Receiver


@pytest.fixture
def receiver(settings) -> Iterator[Receiver]:
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    settings.WEBHOOK_ALLOW_HTTP = True
    running = Receiver().start()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def admin_actor(tenant) -> Actor:
    return Actor(tenant=tenant, role=Role.ADMIN)


def make_job(tenant, tmp_path, *, livemode: bool = True, **webhook: object):
    """A queued local/still job of ``tenant`` (its submit task is not run), with an optional
    ``webhook`` and ``webhook_events_filter``."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from jobs.services import asset_create, job_create
    from tests.media_fixtures import make_png, make_wav

    actor = Actor(tenant=tenant, role=Role.OWNER, livemode=livemode)

    def uploaded(path):
        return SimpleUploadedFile(path.name, path.read_bytes())

    image = asset_create(tenant=tenant, actor=actor, upload=uploaded(make_png(tmp_path / "i.png")))
    audio = asset_create(tenant=tenant, actor=actor, upload=uploaded(make_wav(tmp_path / "a.wav", seconds=1.0)))
    return job_create(tenant=tenant, actor=actor, model_id="local/still",
                      inputs={"image": str(image.id), "audio": str(audio.id)}, **webhook)


def move(job, *statuses: str, **fields: object) -> None:
    """Walk ``job`` through ``statuses`` with the one writer of Job.status."""
    from jobs.transitions import job_transition

    for status in statuses:
        assert job_transition(job=job, to=status, **(fields if status == statuses[-1] else {}))

"""Each of the eight provider models, end to end: a job created through the API goes through submit,
progress and completion against the provider emulator over real HTTP, run by real worker
processes; its output is downloaded into our storage and is an MP4 of the expected duration; and
the request the emulator received matches the provider's documented request field for field
(docs/providers/{wavespeed,fal,dashscope}.md)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from billing.models import UsageRecord
from jobs.models import Job
from providers.media import probe_video
from tests.conftest import header, upload, wait_for
from tests.media_fixtures import make_png, make_wav

pytestmark = pytest.mark.e2e

AUDIO_S = 3.2


def _models(member_client, tmp_path):
    image = upload(member_client, make_png(tmp_path / "face.png", width=480, height=360))["id"]
    audio = upload(member_client, make_wav(tmp_path / "speech.wav", seconds=AUDIO_S))["id"]
    audio2 = upload(member_client, make_wav(tmp_path / "reply.wav", seconds=2.0, freq=330.0))["id"]
    voice = upload(member_client, make_wav(tmp_path / "voice.wav", seconds=2.0, freq=220.0))["id"]
    return {
        # model: (input, expected output seconds, {wire field: our input value or "url of" asset})
        "wavespeed-ai/wan-2.1/multitalk": (
            {"image": image, "audio": audio, "prompt": "A woman talks to the camera", "seed": 7},
            AUDIO_S, {"image": ("url", image), "audio": ("url", audio), "prompt": "A woman talks to the camera",
                      "seed": 7},
        ),
        "wavespeed-ai/wan-2.2/speech-to-video": (
            {"image": image, "audio": audio, "prompt": "", "resolution": "480p"},
            AUDIO_S, {"image": ("url", image), "audio": ("url", audio), "prompt": "", "resolution": "480p",
                      "seed": -1},
        ),
        "wavespeed-ai/hunyuan-avatar": (
            {"image": image, "audio": audio, "resolution": "480p", "seed": 3},
            AUDIO_S, {"image": ("url", image), "audio": ("url", audio), "resolution": "480p", "seed": 3},
        ),
        "fal-ai/ai-avatar": (
            {"image_url": image, "audio_url": audio, "prompt": "A man sings", "num_frames": 81},
            81 / 25, {"image_url": ("url", image), "audio_url": ("url", audio), "prompt": "A man sings",
                      "num_frames": 81, "resolution": "480p", "seed": 42, "acceleration": "regular"},
        ),
        "fal-ai/ai-avatar/multi": (
            {"image_url": image, "first_audio_url": audio, "second_audio_url": audio2, "prompt": "Two friends",
             "num_frames": 100},
            100 / 25, {"image_url": ("url", image), "first_audio_url": ("url", audio),
                       "second_audio_url": ("url", audio2), "prompt": "Two friends", "num_frames": 100,
                       "resolution": "480p", "seed": 81, "acceleration": "regular"},
        ),
        "fal-ai/ai-avatar/single-text": (
            {"image_url": image, "text_input": "Hello there!", "voice": "Bill", "prompt": "A man talks"},
            136 / 25, {"image_url": ("url", image), "text_input": "Hello there!", "voice": "Bill",
                       "prompt": "A man talks", "num_frames": 136, "resolution": "480p", "seed": 42,
                       "acceleration": "regular"},
        ),
        "fal-ai/ai-avatar/multi-text": (
            {"image_url": image, "first_text_input": "Do you know what we are eating?",
             "second_text_input": "Milky pie, I think.", "prompt": "Two kids talking on a lunch."},
            191 / 25, {"image_url": ("url", image), "first_text_input": "Do you know what we are eating?",
                       "second_text_input": "Milky pie, I think.", "prompt": "Two kids talking on a lunch.",
                       "voice1": "Sarah", "voice2": "Roger", "num_frames": 191, "resolution": "480p",
                       "seed": 81, "acceleration": "regular"},
        ),
        "dashscope/wan2.7-r2v": (
            {"prompt": "Image 1 waves and says hello", "media": [
                {"type": "reference_image", "url": image, "reference_voice": voice}],
             "resolution": "720P", "duration": 3},
            3.0, None,
        ),
    }, {"image": image, "audio": audio, "audio2": audio2, "voice": voice}


def _is_signed_url_of(value: object, asset_id: str) -> bool:
    from jobs.signed_urls import asset_id_from_token

    if not isinstance(value, str) or "/files/" not in value:
        return False
    token = value.rsplit("/files/", 1)[1].split(".", 1)[0]
    return asset_id_from_token(token) == asset_id


MODELS = [
    "wavespeed-ai/wan-2.1/multitalk", "wavespeed-ai/wan-2.2/speech-to-video", "wavespeed-ai/hunyuan-avatar",
    "fal-ai/ai-avatar", "fal-ai/ai-avatar/multi", "fal-ai/ai-avatar/single-text", "fal-ai/ai-avatar/multi-text",
    "dashscope/wan2.7-r2v",
]


@pytest.mark.parametrize("model", MODELS)
def test_seed_model_end_to_end(model, platform, emulator, member_client, tmp_path, settings):
    workers = platform(PROVIDER_EMULATOR_URL=emulator.url)
    cases, assets = _models(member_client, tmp_path)
    job_input, expected_s, wire = cases[model]
    response = member_client.post("/api/v1/jobs", {"model": model, "input": job_input}, format="json")
    assert response.status_code == 201, response.content
    job = response.json()
    assert job["emulated"] is True

    def finished():
        body = member_client.get(f"/api/v1/jobs/{job['id']}").json()
        return body if body["status"] in ("succeeded", "failed", "canceled") else None

    body = wait_for(finished, timeout=120, message=f"{model} to finish", on_timeout=workers.output)
    assert body["status"] == "succeeded", (body["error"], body["events"], workers.output())
    moves = [e["to_status"] for e in body["events"] if e["from_status"] != e["to_status"]]
    assert moves == ["submitting", "running", "finalizing", "succeeded"]
    assert abs(body["output"]["duration_s"] - expected_s) <= 0.1, body["output"]

    # The output is in our storage (not the provider's expiring URL) and is a real MP4.
    stored = Job.objects.get(pk=job["id"])
    info = probe_video(stored.output.path)
    assert abs(float(info.duration_s) - expected_s) <= 0.1 and info.has_video
    assert UsageRecord.objects.filter(job_id=job["id"]).count() == 1
    assert Decimal(body["charge"]["amount"]) <= Decimal(body["quote"]["amount"])

    # The request the provider received, field for field.
    submits = [r for r in emulator.requests if r["method"] == "POST" and r["status"] in (200, 201, 202)
               and not r["path"].startswith("/_emulator") and "/requests/" not in r["path"]
               and "/tasks/" not in r["path"]]
    assert len(submits) == 1, [(r["method"], r["path"], r["status"]) for r in emulator.requests]
    sent = submits[0]
    if model.startswith("wavespeed-ai/"):
        assert sent["path"] == f"/api/v3/{model}"
        assert header(sent, "Authorization") == f"Bearer {settings.PROVIDER_EMULATOR_KEY}"
        assert sent["query"].get("webhook", "").startswith(f"{settings.PUBLIC_BASE_URL}/webhooks/providers/")
    elif model.startswith("fal-ai/"):
        assert sent["path"] == f"/{model}"
        assert header(sent, "Authorization") == f"Key {settings.PROVIDER_EMULATOR_KEY}"
        assert sent["query"].get("fal_webhook", "").startswith(f"{settings.PUBLIC_BASE_URL}/webhooks/providers/")
    if model.startswith(("wavespeed-ai/", "fal-ai/")):
        # the provider's signed webhook reached us and was accepted (verified) with a 200
        delivered = wait_for(lambda: [d for d in emulator.webhooks if d["delivered"]], timeout=15,
                             message="the webhook delivery")
        provider = "wavespeed" if model.startswith("wavespeed-ai/") else "fal"
        # the URL names our job (and a token only we make), so even a task whose submit answer was
        # lost reports to its job
        assert delivered[0]["url"].startswith(
            f"{settings.PUBLIC_BASE_URL}/webhooks/providers/{provider}/emulator/jobs/{job['id']}/")
        assert all(a.get("status") == 200 for d in delivered for a in d["attempts"][-1:]), delivered
    if wire is not None:
        assert set(sent["json"]) == set(wire), sent["json"]
        for field, value in wire.items():
            if isinstance(value, tuple):
                assert _is_signed_url_of(sent["json"][field], value[1]), (field, sent["json"][field])
            else:
                assert sent["json"][field] == value, field
    else:  # DashScope: model / input / parameters, with the async header
        assert sent["path"] == "/api/v1/services/aigc/video-generation/video-synthesis"
        assert header(sent, "Authorization") == f"Bearer {settings.PROVIDER_EMULATOR_KEY}"
        assert header(sent, "X-DashScope-Async") == "enable"
        body_sent = sent["json"]
        assert set(body_sent) == {"model", "input", "parameters"}
        assert body_sent["model"] == "wan2.7-r2v"
        assert body_sent["input"]["prompt"] == "Image 1 waves and says hello"
        (item,) = body_sent["input"]["media"]
        assert item["type"] == "reference_image"
        assert _is_signed_url_of(item["url"], assets["image"])
        assert _is_signed_url_of(item["reference_voice"], assets["voice"])
        assert body_sent["parameters"] == {"resolution": "720P", "ratio": "16:9", "duration": 3,
                                           "prompt_extend": True, "watermark": False}

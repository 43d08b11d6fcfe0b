"""Bad input is refused with a 4xx JSON body naming each bad field by its path, and nothing is
created: no Asset, Job or JobEvent row, no stored file, no task enqueued (so nothing can reach a
provider). The per-model cases are generated from the real catalogue."""

from __future__ import annotations

import copy
import json
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import hypothesis
import pytest
from django.conf import settings as django_settings
from hypothesis import HealthCheck
from hypothesis import strategies as st
from rest_framework.test import APIClient

from jobs.input_paths import format_path
from jobs.models import Asset, Job, JobEvent
from jobs.validation import MAX_INPUT_DEPTH
from providers.catalogue import ModelEntry, catalogue_get, catalogue_list
from tests.conftest import upload
from tests.media_fixtures import make_mp4, make_png, make_truncated_wav, make_wav

ENTRIES = catalogue_list()
S2V = "wavespeed-ai/wan-2.2/speech-to-video"


# --- helpers -------------------------------------------------------------------------------------
def stored_files() -> list[Path]:
    return [p for p in Path(django_settings.MEDIA_ROOT).rglob("*") if p.is_file()]


@pytest.fixture
def nothing_created(db, django_capture_on_commit_callbacks):
    """Asserts, after the test body, that it created no row, no file and enqueued nothing."""
    before = (Asset.objects.count(), Job.objects.count(), JobEvent.objects.count())
    files = set(stored_files())
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        yield
    assert (Asset.objects.count(), Job.objects.count(), JobEvent.objects.count()) == before
    assert set(stored_files()) == files
    assert callbacks == []


def refused(response, path: str, *, status: int = 400, contains: tuple[str, ...] = ()) -> list[str]:
    """Assert a 4xx JSON error ``invalid`` naming ``path`` and no other field; return its messages.

    ``contains`` is for what the wording must carry because it is the point (the limit broken,
    the value refused, the fields allowed), never for the prose around it."""
    assert response.status_code == status, (response.status_code, response.content)
    assert response["Content-Type"].startswith("application/json")
    error = response.json()["error"]
    assert error["code"] == "invalid", error
    assert list(error["fields"]) == [path], (path, error)
    messages = error["fields"][path]
    assert messages and all(isinstance(m, str) and len(m) > 10 for m in messages), messages
    for needle in contains:
        assert any(needle in m for m in messages), (needle, messages)
    assert error["message"].startswith(f"{next(iter(error['fields']))}: ") or path == "non_field_errors"
    return messages


def post_upload(client: APIClient, path: Path | None, name: str | None = None):
    if path is None:
        return client.post("/api/v1/assets", {}, format="multipart")
    with open(path, "rb") as fh:
        return client.post("/api/v1/assets", {"file": fh}, format="multipart")


def post_job(client: APIClient, model: str | None, inputs: Any):
    body: dict[str, Any] = {"input": inputs}
    if model is not None:
        body["model"] = model
    return client.post("/api/v1/jobs", body, format="json")


# --- uploads -------------------------------------------------------------------------------------
def test_empty_file(member_client, tmp_path, nothing_created):
    path = tmp_path / "empty.png"
    path.write_bytes(b"")
    refused(post_upload(member_client, path), "file")


def test_text_file_named_png(member_client, tmp_path, nothing_created):
    path = tmp_path / "photo.png"
    path.write_text("I am not a picture, just some words.\n" * 20)
    refused(post_upload(member_client, path), "file")


def test_random_bytes_named_wav(member_client, tmp_path, nothing_created):
    path = tmp_path / "speech.wav"
    data = bytearray(random.Random(7).randbytes(8192))
    data[:4] = b"\x00\x01\x02\x03"  # make sure no magic number is there by chance
    path.write_bytes(bytes(data))
    refused(post_upload(member_client, path), "file")


def test_truncated_wav(member_client, tmp_path, nothing_created):
    refused(post_upload(member_client, make_truncated_wav(tmp_path / "cut.wav")), "file")


def test_no_file_field(member_client, nothing_created):
    refused(post_upload(member_client, None), "file")


def test_wrong_field_name(member_client, png_file, nothing_created):
    with open(png_file, "rb") as fh:
        response = member_client.post("/api/v1/assets", {"image": fh}, format="multipart")
    refused(response, "file")


def test_oversize_upload_names_the_limit(member_client, png_file, settings, nothing_created):
    settings.ASSET_MAX_BYTES = {"image": 1000, "audio": 1000, "video": 1000}
    assert png_file.stat().st_size > 1000
    refused(post_upload(member_client, png_file), "file", contains=("1000 bytes",))


def test_oversize_for_its_kind_names_the_kind_limit(member_client, png_file, wav_file, settings):
    settings.ASSET_MAX_BYTES = {"image": 1000, "audio": 10**8, "video": 10**8}
    before = set(stored_files())
    refused(post_upload(member_client, png_file), "file", contains=("1000 bytes", "image"))
    assert Asset.objects.count() == 0 and set(stored_files()) == before
    # The same request with an audio file under the audio limit goes through.
    assert post_upload(member_client, wav_file).status_code == 201


def test_just_under_the_limit_is_accepted(member_client, png_file, settings):
    size = png_file.stat().st_size
    settings.ASSET_MAX_BYTES = {"image": size, "audio": size, "video": size}
    assert post_upload(member_client, png_file).status_code == 201


# --- job bodies ----------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def media_files(tmp_path_factory) -> dict[str, Path]:
    """Made once per test process; uploaded afresh by each test (each test has its own database)."""
    folder = tmp_path_factory.mktemp("model-media")
    return {
        "image": make_png(folder / "face.png"),
        "audio": make_wav(folder / "speech.wav", seconds=3.0),
        "video": make_mp4(folder / "clip.mp4", seconds=2.0),
    }


class LazyAssets(dict):
    """Asset ids by kind, uploaded on first use."""

    def __init__(self, client: APIClient, files: dict[str, Path]) -> None:
        super().__init__()
        self.client, self.files = client, files

    def __missing__(self, kind: str) -> str:
        self[kind] = upload(self.client, self.files[kind])["id"]
        return self[kind]


@pytest.fixture
def assets(member_client, media_files) -> dict[str, str]:
    """One uploaded asset of each kind, ids by kind."""
    return {kind: upload(member_client, path)["id"] for kind, path in media_files.items()}


@pytest.fixture
def model_assets(member_client, media_files) -> dict[str, str]:
    """Asset ids by kind, uploaded when first used (most models need no video)."""
    return LazyAssets(member_client, media_files)


@pytest.fixture
def still_input(assets) -> dict[str, str]:
    return {"image": assets["image"], "audio": assets["audio"]}


def test_valid_still_job_is_accepted(member_client, still_input):
    """The positive control of the refusals below."""
    assert post_job(member_client, "local/still", still_input).status_code == 201


@pytest.fixture
def their_image(api_client, other_tenant, tmp_path) -> str:
    return upload(api_client(tenant_=other_tenant), make_png(tmp_path / "theirs.png"))["id"]


def test_another_tenants_asset_is_unknown_like_a_random_id(member_client, other_tenant, their_image, still_input,
                                                           nothing_created):
    theirs = their_image
    random_id = str(uuid.uuid4())
    foreign = refused(post_job(member_client, "local/still", {**still_input, "image": theirs}), "input.image")
    missing = refused(post_job(member_client, "local/still", {**still_input, "image": random_id}), "input.image")
    assert [m.replace(theirs, "<id>") for m in foreign] == [m.replace(random_id, "<id>") for m in missing]
    assert "Globex" not in " ".join(foreign) and str(other_tenant.id) not in " ".join(foreign)


def test_missing_model(member_client, still_input, nothing_created):
    refused(post_job(member_client, None, still_input), "model")
    refused(post_job(member_client, "", still_input), "model")


def test_unknown_model(member_client, still_input, nothing_created):
    refused(post_job(member_client, "acme/teleporter", still_input), "model", contains=("acme/teleporter",))


def test_wrong_asset_kind(member_client, assets, nothing_created):
    messages = refused(post_job(member_client, "local/still", {"image": assets["audio"], "audio": assets["audio"]}),
                       "input.image", contains=("image",))
    assert any("audio" in m for m in messages)
    refused(post_job(member_client, "local/still", {"image": assets["image"], "audio": assets["video"]}),
            "input.audio", contains=("audio",))


@pytest.mark.parametrize("bad", ["not-a-uuid", "12345", "", 42, None, ["x"], {"id": "x"}],
                         ids=["word", "digits", "blank", "int", "null", "list", "object"])
def test_non_uuid_asset_id(member_client, assets, bad, nothing_created):
    refused(post_job(member_client, "local/still", {"image": bad, "audio": assets["audio"]}), "input.image")


@pytest.mark.parametrize("spelling", ["upper", "braces", "hex", "urn"])
def test_other_spellings_of_an_asset_id_are_refused_or_normalised(member_client, assets, spelling):
    """uuid.UUID() accepts an id in upper case, in braces, without hyphens or as a URN. A job that
    names its asset so must either be refused, or stored with the asset's own id: the worker looks
    assets up by ``str(asset.id)`` and would otherwise fail the accepted job as "asset missing"."""
    from jobs.pipeline.provider_inputs import resolved_inputs

    image = assets["image"]
    spelled = {"upper": image.upper(), "braces": "{" + image + "}", "hex": image.replace("-", ""),
               "urn": "urn:uuid:" + image}[spelling]
    response = post_job(member_client, "local/still", {"image": spelled, "audio": assets["audio"]})
    if response.status_code == 400:
        refused(response, "input.image")
        return
    assert response.status_code == 201, response.content
    assert response.json()["input"]["image"] == image
    job = Job.objects.get(pk=response.json()["id"])
    resolved = resolved_inputs(job=job)  # what the worker sends: must find the asset
    assert resolved["image"].endswith(Asset.objects.get(pk=image).file.name.rsplit("/", 1)[-1])


def test_malformed_json(member_client, nothing_created):
    response = member_client.post("/api/v1/jobs", data="{bad", content_type="application/json")
    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] == "malformed_request"


def test_body_over_the_request_size_limit_is_a_json_4xx(member_client, settings, nothing_created):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    body = '{"model": "local/still", "input": {"prompt": "%s"}}' % ("x" * 2000)
    response = member_client.post("/api/v1/jobs", data=body, content_type="application/json")
    assert 400 <= response.status_code < 500
    assert response["Content-Type"].startswith("application/json"), (response["Content-Type"], response.content[:80])
    assert response.json()["error"]["code"]


TEXT_FIELDS = [
    ("dashscope/wan2.7-r2v", "prompt"),
    ("fal-ai/ai-avatar/single-text", "text_input"),
    ("fal-ai/ai-avatar", "prompt"),
    ("wavespeed-ai/wan-2.2/speech-to-video", "prompt"),
]


@pytest.mark.parametrize(("model", "field"), TEXT_FIELDS, ids=[f"{m}:{f}" for m, f in TEXT_FIELDS])
def test_nul_character_in_a_text_input_is_never_a_server_error(member_client, model_assets, model, field):
    """PostgreSQL's jsonb cannot hold U+0000: storing it unchecked is a 500 for something a client sent."""
    entry = catalogue_get(model_id=model)
    inputs = {**valid_input(entry, model_assets), field: "Image 1 says hello\x00 to you."}
    jobs = Job.objects.count()
    response = post_job(member_client, model, inputs)
    assert response.status_code in (201, 400), response.content
    if response.status_code == 400:
        refused(response, f"input.{field}")
        assert Job.objects.count() == jobs


@pytest.mark.parametrize("body", ["[1, 2]", '"a string"', "42", "null"])
def test_json_body_not_an_object(member_client, body, nothing_created):
    response = member_client.post("/api/v1/jobs", data=body, content_type="application/json")
    assert 400 <= response.status_code < 500, response.content
    assert response.json()["error"]["code"] in ("invalid", "malformed_request")


def test_json_array_body(member_client, nothing_created):
    response = member_client.post("/api/v1/jobs", data='[{"model": "local/still"}]', content_type="application/json")
    refused(response, "non_field_errors")


@pytest.mark.parametrize("inputs", [[], "image", 3, True], ids=["list", "string", "int", "bool"])
def test_input_not_an_object(member_client, inputs, nothing_created):
    refused(post_job(member_client, "local/still", inputs), "input")


def test_unknown_input_field(member_client, still_input, nothing_created):
    refused(post_job(member_client, "local/still", {**still_input, "colour": "blue"}), "input.colour",
            contains=("audio, image, resolution",))  # the fields it allows


def test_every_problem_is_reported_at_once(member_client, assets, nothing_created):
    response = post_job(member_client, "local/still", {"image": assets["audio"], "resolution": "4k", "x": 1})
    fields = response.json()["error"]["fields"]
    assert {"input.image", "input.audio", "input.resolution", "input.x"} <= set(fields), fields


def test_form_encoded_job_is_refused(member_client, still_input, nothing_created):
    response = member_client.post("/api/v1/jobs", {"model": "local/still"}, format="multipart")
    assert response.status_code == 415
    assert response.json()["error"]["code"] == "unsupported_media_type"


# --- durations -----------------------------------------------------------------------------------
def orm_audio(tenant, seconds: Decimal) -> Asset:
    """An audio asset row of a given length (the file itself is never read by validation)."""
    return Asset.objects.create(
        tenant=tenant, kind="audio", file=f"tenants/{tenant.id}/assets/long.wav", original_name="long.wav",
        extension=".wav", content_type="audio/wav", size_bytes=1000, sha256="0" * 64, duration_s=seconds,
    )


def test_audio_longer_than_speech_to_video_allows(member_client, tenant, assets, nothing_created):
    audio = orm_audio(tenant, Decimal("130"))
    inputs = {"image": assets["image"], "audio": str(audio.id)}
    refused(post_job(member_client, S2V, inputs), "input.audio", contains=("120",))
    audio.delete()  # made by the test itself, not by the refused request


def test_real_long_low_rate_wav_is_refused(member_client, tmp_path, assets):
    audio = upload(member_client, make_wav(tmp_path / "long.wav", seconds=121, rate=8000))
    assert audio["duration_s"] == pytest.approx(121)
    jobs = Job.objects.count()
    inputs = {"image": assets["image"], "audio": audio["id"]}
    refused(post_job(member_client, S2V, inputs), "input.audio", contains=("120",))
    assert Job.objects.count() == jobs


AUDIO_MODELS = [e for e in ENTRIES if e.duration.source == "audio" and e.limits.max_duration_s is not None]


@pytest.mark.parametrize("entry", AUDIO_MODELS, ids=[e.id for e in AUDIO_MODELS])
def test_audio_at_and_over_each_models_maximum(member_client, tenant, assets, entry):
    maximum = entry.limits.max_duration_s
    inputs = valid_input(entry, assets)
    slot = next(s for s in entry.asset_slots if s.kinds == ("audio",))
    jobs = Job.objects.count()
    over = orm_audio(tenant, maximum + Decimal("0.001"))
    refused(post_job(member_client, entry.id, {**inputs, slot.path: str(over.id)}), f"input.{slot.path}",
            contains=(f"{maximum}",))
    assert Job.objects.count() == jobs
    at = orm_audio(tenant, maximum)
    response = post_job(member_client, entry.id, {**inputs, slot.path: str(at.id)})
    assert response.status_code == 201, response.content
    assert Decimal(response.json()["quote"]["amount"]) > 0


def test_dashscope_reference_video_limits_the_duration(member_client, assets, nothing_created):
    inputs = {
        "prompt": "Image 1 walks through Video 1.",
        "media": [
            {"type": "reference_image", "url": assets["image"]},
            {"type": "reference_video", "url": assets["video"]},
        ],
        "duration": 11,
    }
    refused(post_job(member_client, "dashscope/wan2.7-r2v", inputs), "input.duration", contains=("10",))


def test_dashscope_integral_float_duration_with_reference_video(member_client, assets):
    """JSON Schema counts 15.0 as an integer, so 15.0 passes the 2..15 range; the 10 s limit with a
    reference video must hold for it as for 15."""
    inputs = {
        "prompt": "Image 1 walks through Video 1.",
        "media": [
            {"type": "reference_image", "url": assets["image"]},
            {"type": "reference_video", "url": assets["video"]},
        ],
        "duration": 15.0,
    }
    jobs = Job.objects.count()
    refused(post_job(member_client, "dashscope/wan2.7-r2v", inputs), "input.duration", contains=("10",))
    assert Job.objects.count() == jobs


def test_dashscope_media_kind_must_match_its_type(member_client, assets, nothing_created):
    inputs = {"prompt": "Image 1 smiles.", "media": [{"type": "reference_image", "url": assets["video"]}]}
    refused(post_job(member_client, "dashscope/wan2.7-r2v", inputs), "input.media[0].url", contains=("image",))


def test_dashscope_prompt_naming_missing_media(member_client, assets, nothing_created):
    inputs = {"prompt": "Image 2 waves.", "media": [{"type": "reference_image", "url": assets["image"]}]}
    refused(post_job(member_client, "dashscope/wan2.7-r2v", inputs), "input.prompt", contains=("Image 2",))


# --- every model in the catalogue ----------------------------------------------------------------
def _slot_kinds(entry: ModelEntry) -> dict[str, str]:
    return {s.path: s.kinds[0] for s in entry.asset_slots}


def _sample(entry: ModelEntry, path: str, prop: dict[str, Any], assets: dict[str, str],
            sibling: dict[str, Any] | None = None) -> Any:
    slots = {s.path: s for s in entry.asset_slots}
    slot = slots.get(path)
    if slot is not None:
        kind = slot.kinds[0]
        if slot.kind_by is not None and sibling is not None:
            kind = slot.kind_by[1][sibling[slot.kind_by[0]]]
        return assets[kind]
    if "default" in prop:
        return prop["default"]
    if "enum" in prop:
        return prop["enum"][0]
    kind = prop.get("type")
    if kind == "string":
        return "Image 1 talks warmly to the camera."
    if kind == "integer":
        return prop.get("minimum", 1)
    if kind == "boolean":
        return False
    if kind == "array":
        item_schema = prop["items"]
        item: dict[str, Any] = {}
        for name in item_schema.get("required", []):
            item[name] = _sample(entry, f"{path}[].{name}", item_schema["properties"][name], assets, item)
        return [item]
    raise AssertionError(f"{entry.id}: no sample for {path} ({prop})")


def valid_input(entry: ModelEntry, assets: dict[str, str]) -> dict[str, Any]:
    """The required fields only, every asset slot filled by an asset of its kind."""
    return {name: _sample(entry, name, entry.properties[name], assets) for name in entry.input_schema["required"]}


@dataclass(frozen=True)
class Case:
    model: str
    kind: str  # required / enum / below / above / too-long / blank
    path: tuple[str | int, ...]  # below input
    value: Any = None  # None for "omit"
    expect: str = ""  # the limit the message must name ("" when the path alone says it)

    @property
    def field(self) -> str:
        return format_path(self.path)

    @property
    def id(self) -> str:
        return f"{self.model}:{self.field}:{self.kind}"


def _cases_for(entry: ModelEntry, schema: dict[str, Any], prefix: tuple[str | int, ...]) -> Iterator[Case]:
    for name in schema.get("required", []):
        yield Case(entry.id, "required", (*prefix, name))
    for name, prop in schema.get("properties", {}).items():
        path = (*prefix, name)
        if "enum" in prop:
            yield Case(entry.id, "enum", path, "definitely-not-a-choice", expect=str(prop["enum"][0]))
        if prop.get("type") in ("integer", "number"):
            if "minimum" in prop:
                yield Case(entry.id, "below", path, prop["minimum"] - 1, expect=str(prop["minimum"]))
            if "maximum" in prop:
                yield Case(entry.id, "above", path, prop["maximum"] + 1, expect=str(prop["maximum"]))
        if prop.get("type") == "string" and "maxLength" in prop:
            yield Case(entry.id, "too-long", path, "x" * (prop["maxLength"] + 1), expect=str(prop["maxLength"]))
        if prop.get("type") == "string" and prop.get("minLength", 0) >= 1:
            yield Case(entry.id, "blank", path, "")
        if prop.get("type") == "array" and "minItems" in prop:
            yield Case(entry.id, "too-few", path, "too-few", expect=f"at least {prop['minItems']}")
        if prop.get("type") == "array" and "maxItems" in prop:
            yield Case(entry.id, "too-many", path, "too-many", expect=f"at most {prop['maxItems']}")
        if prop.get("type") == "array" and prop.get("items", {}).get("type") == "object":
            yield from _cases_for(entry, prop["items"], (*path, 0))


CASES = [case for entry in ENTRIES for case in _cases_for(entry, dict(entry.input_schema), ())]


def test_the_generated_cases_cover_every_model():
    assert {c.model for c in CASES} == {e.id for e in ENTRIES}
    kinds = {(c.model, c.kind) for c in CASES}
    for entry in ENTRIES:
        assert (entry.id, "required") in kinds
    # A few known ones, so a generator bug cannot silently drop them.
    ids = {c.id for c in CASES}
    assert "fal-ai/ai-avatar:input.num_frames:below" in ids
    assert "fal-ai/ai-avatar:input.num_frames:above" in ids
    assert "dashscope/wan2.7-r2v:input.media[0].type:enum" in ids
    assert "dashscope/wan2.7-r2v:input.duration:above" in ids
    assert "wavespeed-ai/wan-2.1/multitalk:input.seed:below" in ids
    assert "dashscope/wan2.7-r2v:input.media:too-many" in ids


@pytest.mark.parametrize("entry", ENTRIES, ids=[e.id for e in ENTRIES])
def test_valid_input_of_every_model_is_accepted(member_client, model_assets, entry):
    response = post_job(member_client, entry.id, valid_input(entry, model_assets))
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["model"] == entry.id and body["status"] == "queued"
    for name, prop in entry.properties.items():  # defaults applied
        if "default" in prop:
            assert body["input"][name] == prop["default"]
    assert Decimal(body["quote"]["amount"]) > 0


def _mutate(data: dict[str, Any], case: Case) -> dict[str, Any]:
    data = copy.deepcopy(data)
    holder: Any = data
    for part in case.path[:-1]:
        holder = holder[part]
    name = case.path[-1]
    if case.kind == "required":
        holder.pop(name, None)
    elif case.kind == "too-few":
        holder[name] = holder[name][:0]
    elif case.kind == "too-many":
        schema = catalogue_get(model_id=case.model).properties[name]
        holder[name] = holder[name][:1] * (schema["maxItems"] + 1)
    else:
        holder[case.path[-1]] = case.value
    return data


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_each_bad_field_of_every_model(member_client, model_assets, case, django_capture_on_commit_callbacks):
    entry = catalogue_get(model_id=case.model)
    inputs = _mutate(valid_input(entry, model_assets), case)
    counts = (Job.objects.count(), JobEvent.objects.count())
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = post_job(member_client, entry.id, inputs)
    refused(response, case.field, contains=(case.expect,) if case.expect else ())
    assert (Job.objects.count(), JobEvent.objects.count()) == counts
    assert callbacks == []



# --- never a 500 -----------------------------------------------------------------------------------
def _json_values(ids: list[str]) -> st.SearchStrategy:
    scalars = st.one_of(
        st.none(), st.booleans(), st.integers(min_value=-(10**20), max_value=10**20),
        st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=20), st.sampled_from(ids),
        st.sampled_from(["480p", "720p", "1080P", "16:9", "reference_image", "reference_video", "Aria"]),
    )
    keys = st.sampled_from(["type", "url", "reference_voice", "x"])

    def containers(inner: st.SearchStrategy) -> st.SearchStrategy:
        return st.one_of(st.lists(inner, max_size=3), st.dictionaries(keys, inner, max_size=3))

    return st.recursive(scalars, containers, max_leaves=6)


@hypothesis.settings(max_examples=200, deadline=None, derandomize=True,
                     suppress_health_check=[HealthCheck.function_scoped_fixture])
@hypothesis.given(data=st.data())
def test_any_json_input_is_answered_without_a_server_error(member_client, assets, data):
    model = data.draw(st.sampled_from([e.id for e in ENTRIES] + ["nope/nothing", ""]))
    names = sorted(catalogue_get(model_id=model).properties) if model in {e.id for e in ENTRIES} else ["x"]
    values = _json_values(list(assets.values()))
    overrides = st.dictionaries(st.sampled_from([*names, "junk"]), values, max_size=3)
    base = valid_input(catalogue_get(model_id=model), assets) if model in {e.id for e in ENTRIES} else {}
    inputs = data.draw(st.one_of(overrides.map(lambda o: {**base, **o}), overrides, values))
    response = post_job(member_client, model, inputs)
    assert response.status_code in (201, 400), (model, inputs, response.status_code, response.content[:500])
    body = response.json()
    if response.status_code == 400:
        assert body["error"]["code"] == "invalid" and body["error"]["fields"], body
    else:
        assert body["status"] == "queued" and Decimal(body["quote"]["amount"]) >= 0


@pytest.mark.parametrize("model", ["fal-ai/ai-avatar", "fal-ai/ai-avatar/multi"])
def test_fal_audio_longer_than_the_longest_video_is_refused(member_client, tenant, model_assets, model):
    """fal's length is num_frames (at most 241 at 25 fps = 9.64 s): a longer audio would be cut."""
    entry = catalogue_get(model_id=model)
    long_audio = orm_audio(tenant, Decimal("12.5"))
    inputs = valid_input(entry, model_assets)
    field = "audio_url" if model == "fal-ai/ai-avatar" else "first_audio_url"
    inputs[field] = str(long_audio.id)
    jobs = Job.objects.count()
    refused(post_job(member_client, model, inputs), f"input.{field}", contains=("9.64",))
    assert Job.objects.count() == jobs


def test_unpaired_surrogate_in_text_is_refused_not_a_500(member_client, model_assets):
    entry = catalogue_get(model_id="fal-ai/ai-avatar/single-text")
    body = json.dumps({"model": entry.id, "input": {**valid_input(entry, model_assets), "text_input": "hi \ud800",
                                                    "\ud800key": 1}})
    jobs = Job.objects.count()
    response = member_client.post("/api/v1/jobs", data=body, content_type="application/json")
    assert response.status_code == 400, response.content
    fields = response.json()["error"]["fields"]
    assert set(fields) == {"input.text_input", "input.\\ud800key"}  # the key itself shown escaped
    assert Job.objects.count() == jobs
    assert member_client.get("/api/v1/jobs").status_code == 200


def test_deeply_nested_input_and_body_are_400(member_client):
    nested: object = "x"
    for _ in range(50):
        nested = [nested]
    response = member_client.post("/api/v1/jobs", {"model": "local/still", "input": {"image": nested}}, format="json")
    fields = response.json()["error"]["fields"]
    assert response.status_code == 400 and list(fields) == ["input"]
    assert str(MAX_INPUT_DEPTH) in fields["input"][0]  # the message names the limit
    response = member_client.post("/api/v1/jobs", data="[" * 100_000, content_type="application/json")
    assert response.status_code == 400 and response.json()["error"]["code"] == "malformed_request"


# --- paths ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(("parts", "written"), [
    (["audio"], "input.audio"),
    (["media", 1, "url"], "input.media[1].url"),
    ([], "input"),
])
def test_input_paths_are_written_and_read_back(parts, written):
    from jobs.input_paths import below_input, parse_path

    assert format_path(parts) == written and parse_path(written) == parts
    relative = format_path(parts, root="")
    assert parse_path(relative, root="") == parts and below_input(relative or "input") == written
    assert parse_path("model") is None and parse_path("inputs.x") is None

"""The providers' catalogue entries against the providers' public model pages (each entry's
``docs_url``; docs/providers/{wavespeed,fal,dashscope}.md say how we read them).

Pure Python: no database, no Django settings. Asset ids stand where the providers take URLs.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from providers.catalogue import catalogue_get, catalogue_list
from providers.catalogue import dashscope as ds
from providers.catalogue.dashscope import ENTRIES as DASHSCOPE_ENTRIES
from providers.catalogue.entry import ModelEntry
from providers.catalogue.fal import ENTRIES as FAL_ENTRIES
from providers.catalogue.wavespeed import ENTRIES as WAVESPEED_ENTRIES

SEED_ENTRIES: list[ModelEntry] = [*WAVESPEED_ENTRIES, *FAL_ENTRIES, *DASHSCOPE_ENTRIES]
BY_ID = {e.id: e for e in SEED_ENTRIES}

EXPECTED_IDS = {
    "wavespeed-ai/wan-2.1/multitalk": ("wavespeed", "wavespeed-ai/wan-2.1/multitalk"),
    "wavespeed-ai/wan-2.2/speech-to-video": ("wavespeed", "wavespeed-ai/wan-2.2/speech-to-video"),
    "wavespeed-ai/hunyuan-avatar": ("wavespeed", "wavespeed-ai/hunyuan-avatar"),
    "fal-ai/ai-avatar": ("fal", "fal-ai/ai-avatar"),
    "fal-ai/ai-avatar/multi": ("fal", "fal-ai/ai-avatar/multi"),
    "fal-ai/ai-avatar/single-text": ("fal", "fal-ai/ai-avatar/single-text"),
    "fal-ai/ai-avatar/multi-text": ("fal", "fal-ai/ai-avatar/multi-text"),
    "dashscope/wan2.7-r2v": ("dashscope", "wan2.7-r2v"),
}

# The model pages' own example requests, asset ids in place of URLs. Where a page's example omits
# required fields (WaveSpeed's curl bodies) they are added; where a page has no example for an
# endpoint (fal's ai-avatar, multi, single-text: only their request types), the example is the
# required fields alone, so the documented defaults fill the rest.
SEED_EXAMPLES: dict[str, dict[str, Any]] = {
    # https://wavespeed.ai/docs/docs-api/wavespeed-ai/wan-2.1-multitalk: --data-raw '{"seed": -1}'
    "wavespeed-ai/wan-2.1/multitalk": {"image": "ast_image", "audio": "ast_audio", "seed": -1},
    # https://wavespeed.ai/docs/docs-api/wavespeed-ai/wan-2.2-speech-to-video:
    # {"prompt": "", "resolution": "480p", "seed": -1}
    "wavespeed-ai/wan-2.2/speech-to-video": {
        "image": "ast_image",
        "audio": "ast_audio",
        "prompt": "",
        "resolution": "480p",
        "seed": -1,
    },
    # https://wavespeed.ai/docs/docs-api/wavespeed-ai/hunyuan-avatar: {"resolution": "480p"}
    "wavespeed-ai/hunyuan-avatar": {"audio": "ast_audio", "image": "ast_image", "resolution": "480p"},
    "fal-ai/ai-avatar": {"image_url": "ast_image", "audio_url": "ast_audio", "prompt": "A woman talking."},
    "fal-ai/ai-avatar/multi": {
        "image_url": "ast_image",
        "first_audio_url": "ast_audio_1",
        "second_audio_url": "ast_audio_2",
        "prompt": "Two people in a podcast.",
    },
    "fal-ai/ai-avatar/single-text": {
        "image_url": "ast_image",
        "text_input": "Hello there!",
        "voice": "Aria",
        "prompt": "A man talking to the camera.",
    },
    # https://fal.ai/models/fal-ai/ai-avatar/multi-text/api: the page's JSON input example
    "fal-ai/ai-avatar/multi-text": {
        "image_url": "ast_image",
        "first_text_input": "Do you know what are we eating?",
        "second_text_input": (
            "I dont know I am eating this because our mother gave it to us. I think it is something called milky pie."
        ),
        "voice1": "Sarah",
        "voice2": "Roger",
        "prompt": "Two kids talking on a lunch.",
        "num_frames": 191,
        "resolution": "480p",
        "seed": 81,
        "acceleration": "regular",
    },
    # https://help.aliyun.com/zh/model-studio/wan-video-to-video-api-reference: the SDK example
    # (flat: the parameters beside prompt and media)
    "dashscope/wan2.7-r2v": {
        "prompt": (
            "视频1抱着图3,在图4的椅子上弹奏一支舒缓的乡村民谣,并说道:“今天的阳光真好。”图1手中拿着图2,"
            "路过视频1,把手中的图2放到视频1旁边的桌子上,并说道:“真好听,能不能再唱一遍”。 "
        ),
        "media": [
            {"type": "reference_image", "url": "ast_girl", "reference_voice": "ast_girl_voice"},
            {"type": "reference_video", "url": "ast_role2", "reference_voice": "ast_boy_voice"},
            {"type": "reference_image", "url": "ast_object3"},
            {"type": "reference_image", "url": "ast_object4"},
            {"type": "reference_image", "url": "ast_background5"},
        ],
        "resolution": "720P",
        "ratio": "16:9",
        "duration": 10,
        "prompt_extend": False,
        "watermark": True,
    },
}

# https://fal.ai/models/fal-ai/ai-avatar/multi-text/api: the page's JS example (only the required fields)
FAL_MULTI_TEXT_JS_EXAMPLE = {
    "image_url": "ast_image",
    "first_text_input": "Do you know what are we eating?",
    "second_text_input": "I dont know I am eating this because our mother gave it to us.",
    "prompt": "Two kids talking on a lunch.",
}

SEED_DEFAULTS: dict[str, dict[str, Any]] = {
    "wavespeed-ai/wan-2.1/multitalk": {"seed": -1},
    "wavespeed-ai/wan-2.2/speech-to-video": {"resolution": "480p", "seed": -1},
    "wavespeed-ai/hunyuan-avatar": {"resolution": "480p"},  # seed: its page gives no default ("-")
    "fal-ai/ai-avatar": {"num_frames": 145, "resolution": "480p", "seed": 42, "acceleration": "regular"},
    "fal-ai/ai-avatar/multi": {
        "num_frames": 181,
        "resolution": "480p",
        "seed": 81,
        "acceleration": "regular",
    },
    "fal-ai/ai-avatar/single-text": {
        "num_frames": 136,
        "resolution": "480p",
        "seed": 42,
        "acceleration": "regular",
    },
    "fal-ai/ai-avatar/multi-text": {
        "voice1": "Sarah",
        "voice2": "Roger",
        "num_frames": 191,
        "resolution": "480p",
        "seed": 81,
        "acceleration": "regular",
    },
    "dashscope/wan2.7-r2v": {
        "resolution": "1080P",
        "ratio": "16:9",
        "duration": 5,
        "prompt_extend": True,
        "watermark": False,
    },
}

SEED_REQUIRED: dict[str, set[str]] = {
    "wavespeed-ai/wan-2.1/multitalk": {"image", "audio"},
    "wavespeed-ai/wan-2.2/speech-to-video": {"image", "audio"},
    "wavespeed-ai/hunyuan-avatar": {"audio", "image"},
    "fal-ai/ai-avatar": {"image_url", "audio_url", "prompt"},
    "fal-ai/ai-avatar/multi": {"image_url", "first_audio_url", "second_audio_url", "prompt"},
    "fal-ai/ai-avatar/single-text": {"image_url", "text_input", "voice", "prompt"},
    "fal-ai/ai-avatar/multi-text": {"image_url", "first_text_input", "second_text_input", "prompt"},
    "dashscope/wan2.7-r2v": {"prompt", "media"},
}

VOICES = {
    "Aria",
    "Roger",
    "Sarah",
    "Laura",
    "Charlie",
    "George",
    "Callum",
    "River",
    "Liam",
    "Charlotte",
    "Alice",
    "Matilda",
    "Will",
    "Jessica",
    "Eric",
    "Chris",
    "Brian",
    "Daniel",
    "Lily",
    "Bill",
}

# --- helpers ----------------------------------------------------------------------------------------


def with_defaults(entry: ModelEntry, data: dict[str, Any]) -> dict[str, Any]:
    return {**entry.defaults(), **copy.deepcopy(data)}


def valid_input(entry: ModelEntry) -> dict[str, Any]:
    return with_defaults(entry, SEED_EXAMPLES[entry.id])


def errors(entry: ModelEntry, data: dict[str, Any]) -> list[Any]:
    return list(Draft202012Validator(entry.input_schema).iter_errors(data))


def iter_properties(schema: dict[str, Any], prefix: str = ""):
    """(dotted path with [] for list items, property schema) for every property, nested too."""
    for name, prop in schema.get("properties", {}).items():
        path = f"{prefix}{name}"
        yield path, prop
        if prop.get("type") == "array" and isinstance(prop.get("items"), dict):
            yield from iter_properties(prop["items"], f"{path}[].")


def iter_required(schema: dict[str, Any], prefix: str = ""):
    for name in schema.get("required", []):
        yield f"{prefix}{name}"
    for name, prop in schema.get("properties", {}).items():
        if prop.get("type") == "array" and isinstance(prop.get("items"), dict):
            yield from iter_required(prop["items"], f"{prefix}{name}[].")


def schema_at(schema: dict[str, Any], path: str) -> dict[str, Any] | None:
    node: dict[str, Any] | None = schema
    for part in path.split("."):
        is_list = part.endswith("[]")
        name = part[:-2] if is_list else part
        node = (node or {}).get("properties", {}).get(name)
        if node is None:
            return None
        if is_list:
            if node.get("type") != "array":
                return None
            node = node.get("items")
    return node


def _container(data: dict[str, Any], path: str) -> tuple[Any, str]:
    """The dict holding the last part of ``path`` (list items: the first item) and its key."""
    parts = path.split(".")
    node: Any = data
    for part in parts[:-1]:
        node = node[part[:-2]][0] if part.endswith("[]") else node[part]
    return node, parts[-1]


def set_path(data: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    node, key = _container(data, path)
    node[key] = value
    return data


def del_path(data: dict[str, Any], path: str) -> dict[str, Any]:
    node, key = _container(data, path)
    node.pop(key, None)
    return data


def json_path(path: str) -> list[Any]:
    """'media[].url' -> ['media', 0, 'url'] (where jsonschema reports an error)."""
    out: list[Any] = []
    for part in path.split("."):
        if part.endswith("[]"):
            out += [part[:-2], 0]
        else:
            out.append(part)
    return out


def _cases(kind: str) -> list[Any]:
    cases = []
    for entry in SEED_ENTRIES:
        for path, prop in iter_properties(dict(entry.input_schema)):
            if kind == "enum" and "enum" in prop:
                cases.append(pytest.param(entry.id, path, id=f"{entry.id}:{path}"))
            if kind == "range" and ("minimum" in prop or "maximum" in prop):
                cases.append(pytest.param(entry.id, path, id=f"{entry.id}:{path}"))
            if kind == "length" and ("minLength" in prop or "maxLength" in prop):
                cases.append(pytest.param(entry.id, path, id=f"{entry.id}:{path}"))
            if kind == "items" and ("minItems" in prop or "maxItems" in prop):
                cases.append(pytest.param(entry.id, path, id=f"{entry.id}:{path}"))
            if kind == "all":
                cases.append(pytest.param(entry.id, path, id=f"{entry.id}:{path}"))
        if kind == "required":
            for path in iter_required(dict(entry.input_schema)):
                cases.append(pytest.param(entry.id, path, id=f"{entry.id}:{path}"))
    return cases


ENTRY_IDS = [pytest.param(e.id, id=e.id) for e in SEED_ENTRIES]


@dataclass
class FakeAsset:
    kind: str
    duration_s: Decimal | None = None


def seed_assets(**overrides: FakeAsset) -> dict[str, FakeAsset]:
    """The assets by path of Alibaba's example request (the reference video 5 s, as in its usage)."""
    assets = {
        "media[0].url": FakeAsset("image"),
        "media[0].reference_voice": FakeAsset("audio", Decimal("4.2")),
        "media[1].url": FakeAsset("video", Decimal("5")),
        "media[1].reference_voice": FakeAsset("audio", Decimal("3")),
        "media[2].url": FakeAsset("image"),
        "media[3].url": FakeAsset("image"),
        "media[4].url": FakeAsset("image"),
    }
    assets.update(overrides)
    return assets


def run_checks(entry: ModelEntry, data: dict[str, Any], assets: dict[str, Any]) -> dict[str, str]:
    out: dict[str, str] = {}
    for check in entry.extra_checks:
        out.update(check(data, assets))
    return out


# --- identity and registration ----------------------------------------------------------------------


def test_the_eight_seed_models_are_registered():
    assert set(BY_ID) == set(EXPECTED_IDS)
    assert len(SEED_ENTRIES) == len(EXPECTED_IDS)  # no duplicates
    registered = {e.id for e in catalogue_list()}
    assert set(EXPECTED_IDS) <= registered


@pytest.mark.parametrize("model_id", ENTRY_IDS)
def test_identity_and_documentation(model_id):
    entry = catalogue_get(model_id=model_id)
    assert (entry.provider, entry.provider_model) == EXPECTED_IDS[model_id]
    assert entry.display_name and entry.description
    assert entry.docs_url.startswith("https://")
    assert entry.docs_url in entry.sources  # each figure names the public page it follows
    assert not re.search(r"\b[Ss]eeds? \d{3}\b|PROVIDERS\.md|DESIGN\.md|/work/", entry.sources + entry.pricing.source)
    assert entry.pricing.source


# --- schemas ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("model_id", ENTRY_IDS)
def test_schema_is_valid_draft_2020_12(model_id):
    schema = dict(BY_ID[model_id].input_schema)
    Draft202012Validator.check_schema(schema)
    assert schema["type"] == "object"
    assert schema["additionalProperties"] is False


@pytest.mark.parametrize("model_id,path", _cases("all"))
def test_every_property_is_typed_and_explained(model_id, path):
    prop = schema_at(dict(BY_ID[model_id].input_schema), path)
    assert prop is not None
    assert prop.get("type") in {"string", "integer", "boolean", "array", "object"}
    assert prop.get("title"), "the form needs a label"
    assert prop.get("description"), "the form shows it as help text"
    if prop["type"] == "string" and "enum" not in prop:
        assert "maxLength" in prop or "x-asset-kind" in prop or "x-asset-kind-by" in prop
    if "default" in prop:
        assert not list(Draft202012Validator(prop).iter_errors(prop["default"]))


@pytest.mark.parametrize("model_id", ENTRY_IDS)
def test_seed_example_validates_after_defaults(model_id):
    entry = BY_ID[model_id]
    assert errors(entry, valid_input(entry)) == []


def test_fal_multi_text_js_example_validates_after_defaults():
    entry = BY_ID["fal-ai/ai-avatar/multi-text"]
    assert errors(entry, with_defaults(entry, FAL_MULTI_TEXT_JS_EXAMPLE)) == []


@pytest.mark.parametrize("model_id", ENTRY_IDS)
def test_defaults_match_the_seed(model_id):
    assert BY_ID[model_id].defaults() == SEED_DEFAULTS[model_id]


@pytest.mark.parametrize("model_id", ENTRY_IDS)
def test_required_fields_match_the_seed(model_id):
    assert set(BY_ID[model_id].input_schema["required"]) == SEED_REQUIRED[model_id]


def test_dashscope_media_items_require_type_and_url():
    items = BY_ID["dashscope/wan2.7-r2v"].input_schema["properties"]["media"]["items"]
    assert set(items["required"]) == {"type", "url"}
    assert items["additionalProperties"] is False


@pytest.mark.parametrize("model_id", ENTRY_IDS)
def test_unknown_fields_are_refused(model_id):
    entry = BY_ID[model_id]
    found = errors(entry, {**valid_input(entry), "steps": 30})
    assert [e.validator for e in found] == ["additionalProperties"]
    assert "steps" in found[0].message


def test_unknown_fields_in_a_media_item_are_refused():
    entry = BY_ID["dashscope/wan2.7-r2v"]
    found = errors(entry, set_path(valid_input(entry), "media[].role", "first_frame"))
    assert [e.validator for e in found] == ["additionalProperties"]


@pytest.mark.parametrize("model_id,path", _cases("required"))
def test_omitting_a_required_field_fails_naming_it(model_id, path):
    entry = BY_ID[model_id]
    found = errors(entry, del_path(valid_input(entry), path))
    assert len(found) == 1
    (error,) = found
    assert error.validator == "required"
    field = path.split(".")[-1]
    assert f"'{field}'" in error.message
    assert list(error.absolute_path) == json_path(path)[:-1]


@pytest.mark.parametrize("model_id,path", _cases("enum"))
def test_enum_refuses_other_values_and_accepts_its_own(model_id, path):
    entry = BY_ID[model_id]
    prop = schema_at(dict(entry.input_schema), path)
    for value in prop["enum"]:
        assert errors(entry, set_path(valid_input(entry), path, value)) == [], value
    bad_values = ["not-a-value"]
    swapped = prop["enum"][0].swapcase()  # e.g. 480P for fal/WaveSpeed, 720p for DashScope
    if swapped not in prop["enum"]:
        bad_values.append(swapped)
    for bad in bad_values:
        found = errors(entry, set_path(valid_input(entry), path, bad))
        assert [e.validator for e in found] == ["enum"], bad
        assert list(found[0].absolute_path) == json_path(path)


@pytest.mark.parametrize("model_id,path", _cases("range"))
def test_numeric_range_bounds_pass_and_just_outside_fails(model_id, path):
    entry = BY_ID[model_id]
    prop = schema_at(dict(entry.input_schema), path)
    low, high = prop["minimum"], prop["maximum"]  # every range here is closed on both sides
    for ok in (low, high):
        assert errors(entry, set_path(valid_input(entry), path, ok)) == [], ok
    for bad, validator in ((low - 1, "minimum"), (high + 1, "maximum")):
        found = errors(entry, set_path(valid_input(entry), path, bad))
        assert [e.validator for e in found] == [validator], bad
        assert list(found[0].absolute_path) == json_path(path)
    found = errors(entry, set_path(valid_input(entry), path, low + 0.5))
    assert "type" in [e.validator for e in found], "integers only"


@pytest.mark.parametrize("model_id,path", _cases("length"))
def test_string_lengths(model_id, path):
    entry = BY_ID[model_id]
    prop = schema_at(dict(entry.input_schema), path)
    if "maxLength" in prop:
        n = prop["maxLength"]
        assert errors(entry, set_path(valid_input(entry), path, "x" * n)) == []
        found = errors(entry, set_path(valid_input(entry), path, "x" * (n + 1)))
        assert [e.validator for e in found] == ["maxLength"]
    if prop.get("minLength", 0) >= 1:
        found = errors(entry, set_path(valid_input(entry), path, ""))
        assert [e.validator for e in found] == ["minLength"]


@pytest.mark.parametrize("model_id,path", _cases("items"))
def test_list_lengths(model_id, path):
    entry = BY_ID[model_id]
    prop = schema_at(dict(entry.input_schema), path)
    item = {"type": "reference_image", "url": "ast_image"}
    low, high = prop["minItems"], prop["maxItems"]
    for ok in (low, high):
        assert errors(entry, set_path(valid_input(entry), path, [dict(item) for _ in range(ok)])) == []
    for bad, validator in ((low - 1, "minItems"), (high + 1, "maxItems")):
        found = errors(entry, set_path(valid_input(entry), path, [dict(item) for _ in range(bad)]))
        assert [e.validator for e in found] == [validator]


def test_wavespeed_ranges_and_enums_follow_the_model_pages():
    for entry in WAVESPEED_ENTRIES:
        seed = entry.properties["seed"]
        assert (seed["minimum"], seed["maximum"]) == (-1, 2147483647)
    assert "resolution" not in BY_ID["wavespeed-ai/wan-2.1/multitalk"].properties
    for model_id in ("wavespeed-ai/wan-2.2/speech-to-video", "wavespeed-ai/hunyuan-avatar"):
        assert BY_ID[model_id].properties["resolution"]["enum"] == ["480p", "720p"]


def test_fal_num_frames_range_admits_every_documented_default():
    for entry in FAL_ENTRIES:
        frames = entry.properties["num_frames"]
        assert (frames["minimum"], frames["maximum"]) == (41, 241)
        assert frames["minimum"] <= frames["default"] <= frames["maximum"]
        assert entry.properties["acceleration"]["enum"] == ["none", "regular", "high"]
        assert entry.properties["resolution"]["enum"] == ["480p", "720p"]
    assert set(BY_ID["fal-ai/ai-avatar/single-text"].properties["voice"]["enum"]) == VOICES
    multi_text = BY_ID["fal-ai/ai-avatar/multi-text"].properties
    assert set(multi_text["voice1"]["enum"]) == set(multi_text["voice2"]["enum"]) == VOICES


def test_dashscope_enums_and_ranges():
    props = BY_ID["dashscope/wan2.7-r2v"].properties
    assert props["resolution"]["enum"] == ["720P", "1080P"]
    assert props["ratio"]["enum"] == ["16:9", "9:16", "1:1", "4:3", "3:4"]
    assert (props["duration"]["minimum"], props["duration"]["maximum"]) == (2, 15)
    assert props["media"]["items"]["properties"]["type"]["enum"] == ["reference_image", "reference_video"]
    assert "seed" not in props  # Alibaba's API reference does not document it


# --- asset slots ------------------------------------------------------------------------------------


@pytest.mark.parametrize("model_id", ENTRY_IDS)
def test_every_asset_slot_path_exists_in_the_schema(model_id):
    entry = BY_ID[model_id]
    for slot in entry.asset_slots:
        prop = schema_at(dict(entry.input_schema), slot.path)
        assert prop is not None, slot.path
        assert prop["type"] == "string", slot.path
        if slot.kind_by is None:
            assert slot.kinds == (prop["x-asset-kind"],), slot.path
        else:
            field, mapping = slot.kind_by
            hint = prop["x-asset-kind-by"]
            assert hint == {"field": field, "kinds": dict(mapping)}
            sibling = schema_at(dict(entry.input_schema), slot.path.rsplit(".", 1)[0] + "." + field)
            assert set(sibling["enum"]) == set(mapping)
            assert set(slot.kinds) == set(mapping.values())


@pytest.mark.parametrize("model_id", ENTRY_IDS)
def test_every_asset_field_has_a_slot(model_id):
    entry = BY_ID[model_id]
    hinted = {
        path
        for path, prop in iter_properties(dict(entry.input_schema))
        if "x-asset-kind" in prop or "x-asset-kind-by" in prop
    }
    assert hinted == {slot.path for slot in entry.asset_slots}


def test_dashscope_slots():
    slots = {s.path: s for s in BY_ID["dashscope/wan2.7-r2v"].asset_slots}
    media = slots["media[].url"]
    assert media.kind_by == ("type", {"reference_image": "image", "reference_video": "video"})
    assert (media.min_duration_s, media.max_duration_s) == (Decimal("1"), Decimal("30"))
    voice = slots["media[].reference_voice"]
    assert voice.kinds == ("audio",)
    assert (voice.min_duration_s, voice.max_duration_s) == (Decimal("1"), Decimal("10"))


# --- duration, price, limits, capabilities ---------------------------------------------------------


def test_wavespeed_quote_reads_the_audio_and_prices_per_started_second():
    maxima = {
        "wavespeed-ai/wan-2.1/multitalk": Decimal("600"),
        "wavespeed-ai/wan-2.2/speech-to-video": Decimal("120"),
        "wavespeed-ai/hunyuan-avatar": Decimal("120"),
    }
    for entry in WAVESPEED_ENTRIES:
        assert entry.duration.source == "audio"
        assert entry.duration.fields == ("audio",)
        assert "audio" in {s.path for s in entry.asset_slots}
        price = entry.pricing
        assert price.per_second == Decimal("0.03")
        assert (price.increment_s, price.minimum_s, price.maximum_s) == (
            Decimal("1"),
            Decimal("5"),
            maxima[entry.id],
        )
        assert entry.limits.max_duration_s == maxima[entry.id]
        assert price.bills_input_video is False
        if "resolution" in entry.properties:
            assert price.resolution_field == "resolution"
            assert price.resolution_multipliers == {"480p": Decimal("1"), "720p": Decimal("2")}
            assert set(price.resolution_multipliers) == set(entry.properties["resolution"]["enum"])
        else:
            assert price.resolution_field is None and not price.resolution_multipliers
        assert entry.capabilities.cancel and entry.capabilities.webhook
        assert not entry.capabilities.progress and not entry.capabilities.text_to_speech


def test_fal_quote_reads_the_frames():
    for entry in FAL_ENTRIES:
        assert entry.duration.source == "frames"
        assert entry.duration.frames_field == "num_frames"
        assert entry.duration.fps == Decimal("25")
        price = entry.pricing
        assert price.per_second == Decimal("0.20")
        assert (price.frames_field, price.frames_threshold, price.frames_multiplier) == (
            "num_frames",
            81,
            Decimal("1.25"),
        )
        assert price.resolution_field == "resolution"
        assert price.resolution_multipliers == {"480p": Decimal("1"), "720p": Decimal("2")}
        assert entry.limits.max_duration_s == Decimal("241") / Decimal("25") == Decimal("9.64")
        caps = entry.capabilities
        assert caps.cancel and caps.webhook and caps.progress
        assert caps.text_to_speech is entry.id.endswith("-text")
        assert ("unconfirmed" in price.source) and ("unconfirmed" in entry.sources)


def test_dashscope_quote_reads_the_duration_parameter_and_bills_input_video():
    entry = BY_ID["dashscope/wan2.7-r2v"]
    assert entry.duration.source == "parameter"
    assert entry.duration.parameter_field == "duration"
    assert "duration" in entry.properties
    assert entry.pricing.bills_input_video is True
    assert entry.pricing.per_second == Decimal("0.10")
    assert "unconfirmed" in entry.pricing.source
    limits = entry.limits
    assert (limits.max_duration_s, limits.min_duration_s) == (Decimal("15"), Decimal("2"))
    assert (limits.max_media, limits.max_images, limits.max_videos) == (5, 5, 5)
    caps = entry.capabilities
    assert caps.cancel and not caps.webhook and not caps.progress and not caps.text_to_speech


def test_price_and_limits_serialise():
    for entry in SEED_ENTRIES:
        assert entry.pricing.as_dict()["per_second"] == str(entry.pricing.per_second)
        assert entry.limits.as_dict()["max_duration_s"] == float(entry.limits.max_duration_s)


# --- DashScope extra checks -------------------------------------------------------------------------

R2V = BY_ID["dashscope/wan2.7-r2v"]


def r2v_input(**changes: Any) -> dict[str, Any]:
    data = valid_input(R2V)
    data.update(changes)
    return data


def test_r2v_extra_checks_are_registered():
    assert set(R2V.extra_checks) == {
        ds.check_media_counts,
        ds.check_duration_with_reference_video,
        ds.check_reference_video_lengths,
        ds.check_reference_voice_lengths,
        ds.check_prompt_references,
    }


def test_r2v_seed_example_passes_every_check():
    assert run_checks(R2V, r2v_input(), seed_assets()) == {}


def test_r2v_at_most_five_media_together():
    media = r2v_input()["media"] + [{"type": "reference_video", "url": "ast_more"}]
    assert ds.check_media_counts(r2v_input(media=media), {}) == {
        "media": "At most 5 reference images and videos together; got 6."
    }
    assert ds.check_media_counts(r2v_input(), {}) == {}


def test_r2v_per_kind_limits_are_data(monkeypatch):
    monkeypatch.setattr(ds, "MAX_IMAGES", 3)
    assert ds.check_media_counts(r2v_input(), {}) == {"media": "At most 3 reference images; got 4."}
    monkeypatch.setattr(ds, "MAX_IMAGES", 5)
    monkeypatch.setattr(ds, "MAX_VIDEOS", 0)
    assert ds.check_media_counts(r2v_input(), {}) == {"media": "At most 0 reference videos; got 1."}


def test_r2v_duration_is_2_to_10_with_a_reference_video():
    assert ds.check_duration_with_reference_video(r2v_input(duration=10), {}) == {}
    found = ds.check_duration_with_reference_video(r2v_input(duration=11), {})
    assert found == {"duration": "With a reference video the duration must be 2 to 10 seconds; got 11."}
    images_only = [m for m in r2v_input()["media"] if m["type"] == "reference_image"]
    data = r2v_input(duration=15, media=images_only, prompt="图1 walks into 图4.")
    assert ds.check_duration_with_reference_video(data, {}) == {}
    assert run_checks(R2V, data, {}) == {}


@pytest.mark.parametrize("seconds,ok", [("0.9", False), ("1", True), ("30", True), ("30.1", False)])
def test_r2v_reference_video_is_1_to_30_seconds(seconds, ok):
    assets = seed_assets(**{"media[1].url": FakeAsset("video", Decimal(seconds))})
    found = ds.check_reference_video_lengths(r2v_input(), assets)
    if ok:
        assert found == {}
    else:
        assert list(found) == ["media[1].url"]
        assert "Reference video 1" in found["media[1].url"]
        assert "1 to 30 seconds" in found["media[1].url"]


def test_r2v_reference_video_without_a_known_duration_is_left_to_probing():
    assets = seed_assets(**{"media[1].url": FakeAsset("video", None)})
    assert ds.check_reference_video_lengths(r2v_input(), assets) == {}


@pytest.mark.parametrize("seconds,ok", [("0.5", False), ("1", True), ("10", True), ("10.5", False)])
def test_r2v_reference_voice_is_1_to_10_seconds(seconds, ok):
    assets = seed_assets(**{"media[0].reference_voice": FakeAsset("audio", Decimal(seconds))})
    found = ds.check_reference_voice_lengths(r2v_input(), assets)
    if ok:
        assert found == {}
    else:
        assert list(found) == ["media[0].reference_voice"]
        assert "1 to 10 seconds" in found["media[0].reference_voice"]
        assert f"{Decimal(seconds):.1f} s" in found["media[0].reference_voice"]


@pytest.mark.parametrize(
    "prompt,complaint",
    [
        ("图5在唱歌", "Image 5"),
        ("Image 5 sings to Video 1.", "Image 5"),
        ("视频2 dances", "Video 2"),
        ("Video 2 waves at Image 1.", "Video 2"),
    ],
)
def test_r2v_prompt_references_must_point_at_given_media(prompt, complaint):
    found = ds.check_prompt_references(r2v_input(prompt=prompt), {})
    assert list(found) == ["prompt"]
    assert complaint in found["prompt"]
    assert "4 reference image(s)" in found["prompt"] or "1 reference video(s)" in found["prompt"]


@pytest.mark.parametrize(
    "prompt",
    [
        "Image 4 walks past Video 1.",
        "图1 and 图4 talk; 视频1 listens.",
        "A 1080p shot where a video 2 people watch is playing.",  # not a reference (lower case)
        "No references at all.",
    ],
)
def test_r2v_prompt_references_within_the_media_pass(prompt):
    assert ds.check_prompt_references(r2v_input(prompt=prompt), {}) == {}


# --- asset slots come from the schema's annotations ---------------------------------------------------


def test_asset_slots_are_read_from_the_annotations():
    from providers.catalogue.entry import asset_slots_from_schema

    schema = {"type": "object", "properties": {
        "face": {"type": "string", "x-asset-kind": "image"},
        "either": {"type": "string", "x-asset-kind": ["image", "video"]},
        "prompt": {"type": "string"},
        "media": {"type": "array", "items": {"type": "object", "properties": {
            "type": {"type": "string", "enum": ["a", "b"]},
            "url": {"type": "string", "x-asset-kind-by": {"field": "type", "kinds": {"a": "image", "b": "video"}}},
        }}},
    }}
    slots = asset_slots_from_schema(schema, {"media[].url": (Decimal("1"), None)})
    assert [(s.path, s.kinds, s.kind_by, s.min_duration_s, s.max_duration_s) for s in slots] == [
        ("face", ("image",), None, None, None),
        ("either", ("image", "video"), None, None, None),
        ("media[].url", ("image", "video"), ("type", {"a": "image", "b": "video"}), Decimal("1"), None),
    ]


@pytest.mark.parametrize(("prop", "durations"), [
    ({"type": "string", "x-asset-kind": "pdf"}, {}),  # not an asset kind
    ({"type": "string", "x-asset-kind-by": {"field": "type"}}, {}),  # no kinds
    ({"type": "string", "x-asset-kind": "audio"}, {"nowhere": (None, Decimal("1"))}),  # a duration for no slot
])
def test_a_wrong_annotation_fails_at_import_not_at_job_creation(prop, durations):
    from providers.catalogue.entry import asset_slots_from_schema

    with pytest.raises(ValueError):
        asset_slots_from_schema({"type": "object", "properties": {"x": prop}}, durations)

"""A job's input checked against its catalogue entry, before anything is saved or sent.

Every problem is reported at once, by path (``input.audio``, ``input.media[1].url``), with a
reason a person understands and the limit it broke."""

from __future__ import annotations

import copy
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError as SchemaError

from accounts.models import Tenant
from providers.catalogue import AssetSlot, ModelEntry
from webhooks.models import DEFAULT_EVENTS, JOB_EVENTS
from webhooks.url_rules import webhook_url_check

from .input_paths import below_input, format_path, parse_path
from .models import Asset


@dataclass
class JobInput:
    input: dict[str, Any]
    assets_by_path: dict[str, Asset] = field(default_factory=dict)
    duration_s: Decimal = Decimal("0")  # the output's expected length, for the quote
    input_video_s: Decimal = Decimal("0")  # reference video seconds (billed by some models)


def _fmt(value: Any) -> str:
    return str(value) if not isinstance(value, str) else value


def _schema_message(error: SchemaError, schema: Mapping[str, Any]) -> tuple[list[str | int], str]:
    """(path below input, message) for one JSON Schema error."""
    path: list[str | int] = list(error.absolute_path)
    v, value, sub = error.validator, error.validator_value, error.schema
    if v == "required":
        missing = [name for name in value if isinstance(error.instance, dict) and name not in error.instance]
        return path + [missing[0] if missing else "?"], "This field is required."
    if v == "additionalProperties":
        allowed = sorted(sub.get("properties", {}))
        extras = sorted(set(error.instance) - set(allowed)) if isinstance(error.instance, dict) else []
        return path + [extras[0] if extras else "?"], (
            f"Unknown field for this model. Allowed fields: {', '.join(allowed)}."
        )
    if v == "enum":
        return path, f"Must be one of: {', '.join(_fmt(x) for x in value)} (got {error.instance!r})."
    if v == "type":
        names = value if isinstance(value, list) else [value]
        article = {"integer": "an", "object": "an", "array": "an"}
        readable = " or ".join(f"{article.get(n, 'a')} {n}" for n in names)
        return path, f"Must be {readable} (got {type(error.instance).__name__} {error.instance!r})."
    if v in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        low, high = sub.get("minimum"), sub.get("maximum")
        if low is not None and high is not None:
            return path, f"Must be between {low} and {high} inclusive (got {error.instance})."
        if v == "minimum":
            return path, f"Must be at least {value} (got {error.instance})."
        if v == "maximum":
            return path, f"Must be at most {value} (got {error.instance})."
        return path, error.message
    if v == "minLength":
        return path, "This field may not be blank." if value == 1 else f"Must be at least {value} characters long."
    if v == "maxLength":
        return path, f"Must be at most {value} characters long (got {len(error.instance)})."
    if v == "minItems":
        return path, f"Must have at least {value} item{'s' if value != 1 else ''} (got {len(error.instance)})."
    if v == "maxItems":
        return path, f"Must have at most {value} item{'s' if value != 1 else ''} (got {len(error.instance)})."
    if v == "pattern":
        return path, sub.get("x-error", f"Does not have the expected form ({value}).")
    return path, error.message


def _normalize(value: Any, schema: Mapping[str, Any], parts: list[str | int], errors: dict[str, list[str]]) -> Any:
    """Make the input canonical in place before it is checked, priced and stored: an integral
    number given as ``145.0`` where an integer is expected becomes ``145`` (JSON Schema counts it
    as an integer, so every later reader must see it as one); a NUL character, which no database
    column can hold, is refused."""
    if isinstance(value, dict):
        props = schema.get("properties", {})
        for key in list(value):
            value[key] = _normalize(value[key], props.get(key, {}), [*parts, key], errors)
    elif isinstance(value, list):
        items = schema.get("items", {})
        for index, item in enumerate(value):
            value[index] = _normalize(item, items if isinstance(items, dict) else {}, [*parts, index], errors)
    elif isinstance(value, float) and schema.get("type") == "integer" and value.is_integer():
        return int(value)
    elif isinstance(value, str):
        if "\x00" in value:
            errors.setdefault(format_path(parts), []).append("Must not contain NUL (\\u0000) characters.")
        elif not _is_utf8(value):
            errors.setdefault(format_path(parts), []).append(
                "Contains an invalid character (an unpaired UTF-16 surrogate such as \\ud800).")
    return value


def _is_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


MAX_INPUT_DEPTH = 16


def _depth(value: Any) -> int:
    """How deeply ``value`` nests (iteratively: a hostile input must not exhaust the stack)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, level)
            if level > MAX_INPUT_DEPTH:
                return level
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, level + 1) for child in children)
    return deepest


def _article(word: str) -> str:
    return "an" if word[:1] in "aeiou" else "a"


def slot_values(slot: AssetSlot, data: Mapping[str, Any]) -> Iterator[tuple[str, Any, Mapping[str, Any]]]:
    """(concrete path, value, the object holding it) for each place ``slot`` names in ``data``."""
    if "[]." not in slot.path:
        if slot.path in data:
            yield slot.path, data[slot.path], data
        return
    list_name, item_key = slot.path.split("[].", 1)
    items = data.get(list_name)
    if not isinstance(items, list):
        return
    for index, item in enumerate(items):
        if isinstance(item, dict) and item_key in item:
            yield format_path([list_name, index, item_key], root=""), item[item_key], item


def job_input_validate(*, entry: ModelEntry, tenant: Tenant, raw_input: Any,
                       fetched: Mapping[str, Asset] | None = None) -> JobInput:
    """Validate ``raw_input`` for ``entry``; raise ValidationError({path: [messages]}).
    ``fetched``: the (unsaved) assets made of URL and data-URI inputs, by concrete path; the input
    names them by id from here on, as if they had been uploaded."""
    if not isinstance(raw_input, dict):
        raise ValidationError({"input": ["Must be a JSON object of this model's input fields."]})
    if _depth(raw_input) > MAX_INPUT_DEPTH:
        raise ValidationError({"input": [f"Is nested more than {MAX_INPUT_DEPTH} levels deep."]})
    data = {**copy.deepcopy(entry.defaults()), **copy.deepcopy(raw_input)}
    fetched = fetched or {}
    for slot in entry.asset_slots:
        for concrete, _value, holder in slot_values(slot, data):
            if concrete in fetched:
                holder[slot.path.rsplit(".", 1)[-1]] = str(fetched[concrete].id)
    errors: dict[str, list[str]] = {}
    _normalize(data, entry.input_schema, [], errors)

    validator = Draft202012Validator(entry.input_schema)
    for error in sorted(validator.iter_errors(data), key=lambda e: list(map(str, e.absolute_path))):
        parts, message = _schema_message(error, entry.input_schema)
        errors.setdefault(format_path(parts), []).append(message)

    # Asset slots: each id must be one of this tenant's assets, of a kind the slot takes.
    wanted: dict[str, tuple[AssetSlot, Any, Mapping[str, Any]]] = {}
    for slot in entry.asset_slots:
        for concrete, value, holder in slot_values(slot, data):
            if below_input(concrete) not in errors:
                wanted[concrete] = (slot, value, holder)
    ids: dict[str, uuid.UUID] = {}
    for concrete, (slot, value, holder) in wanted.items():
        try:
            ids[concrete] = uuid.UUID(str(value))
            holder[slot.path.rsplit(".", 1)[-1]] = str(ids[concrete])  # stored in its canonical spelling
        except ValueError:
            errors.setdefault(below_input(concrete), []).append(
                f"Must be the id of one of your assets, an https URL or a data: URI (got {value!r})."
            )
    # What validation, pricing and the job's links read of an asset (its kind and length); the
    # rest of its columns (file, sizes, hashes) is not fetched on a job's creation path, nor sorted.
    found = {a.id: a for a in Asset.objects.for_tenant(tenant).filter(id__in=set(ids.values()))
             .only("id", "tenant_id", "kind", "duration_s").order_by()}
    found.update((a.id, a) for a in fetched.values())
    assets_by_path: dict[str, Asset] = {}
    for concrete, asset_id in ids.items():
        slot, value, holder = wanted[concrete]
        asset = found.get(asset_id)
        path = below_input(concrete)
        if asset is None:
            errors.setdefault(path, []).append(f"No asset with id {value} exists in this account.")
            continue
        kinds: tuple[str, ...] = slot.kinds
        if slot.kind_by is not None:
            sibling, mapping = slot.kind_by
            kind = mapping.get(holder.get(sibling))
            if kind is None:
                continue  # the sibling itself is invalid and already reported by the schema
            kinds = (kind,)
        if asset.kind not in kinds:
            wanted_kinds = " or ".join(f"{_article(k)} {k}" for k in kinds)
            which = "the file given here" if concrete in fetched else f"asset {asset.id}"
            errors.setdefault(path, []).append(
                f"Must be {wanted_kinds} asset; {which} is {_article(asset.kind)} {asset.kind}."
            )
            continue
        if asset.duration_s is not None:
            if slot.max_duration_s is not None and asset.duration_s > slot.max_duration_s:
                errors.setdefault(path, []).append(
                    f"This {asset.kind} is {asset.duration_s} s long; at most {slot.max_duration_s} s is accepted here."
                )
            if slot.min_duration_s is not None and asset.duration_s < slot.min_duration_s:
                errors.setdefault(path, []).append(
                    f"This {asset.kind} is {asset.duration_s} s long; at least {slot.min_duration_s} s is needed here."
                )
        assets_by_path[concrete] = asset

    result = JobInput(input=data, assets_by_path=assets_by_path)
    if not errors:
        _apply_duration(entry=entry, result=result, errors=errors)
    if not errors:
        for check in entry.extra_checks:
            for path, message in check(data, assets_by_path).items():
                errors.setdefault(below_input(path), []).append(message)
    if errors:
        raise ValidationError(errors)
    return result


def _apply_duration(*, entry: ModelEntry, result: JobInput, errors: dict[str, list[str]]) -> None:
    rule, limits = entry.duration, entry.limits
    data = result.input
    if rule.source == "audio":
        durations: list[tuple[str, Decimal]] = []
        for concrete, asset in result.assets_by_path.items():
            base = (parse_path(concrete, root="") or [""])[0]
            if (concrete in rule.fields or base in rule.fields) and asset.duration_s is not None:
                durations.append((concrete, asset.duration_s))
        for concrete, seconds in durations:
            if limits.max_duration_s is not None and seconds > limits.max_duration_s:
                errors.setdefault(below_input(concrete), []).append(
                    f"The audio is {seconds} s long; {entry.display_name} makes videos of at most "
                    f"{limits.max_duration_s} s."
                )
            if limits.min_duration_s is not None and seconds < limits.min_duration_s:
                errors.setdefault(below_input(concrete), []).append(
                    f"The audio is {seconds} s long; {entry.display_name} needs at least {limits.min_duration_s} s."
                )
        values = [s for _, s in durations]
        total = (sum(values, Decimal("0")) if rule.combine == "sum" else max(values)) if values else Decimal("0")
        result.duration_s = total
    else:
        if rule.source == "frames":
            result.duration_s = (Decimal(int(data[rule.frames_field])) / rule.fps).quantize(Decimal("0.001"))
        else:
            value = data.get(rule.parameter_field, rule.default)
            result.duration_s = Decimal(str(value)) if value is not None else Decimal("0")
        # The video's length is set by a parameter, not by the audio: an audio longer than the
        # longest video the model can make would be cut, so it is refused rather than silently cut.
        for concrete, asset in result.assets_by_path.items():
            if (asset.kind == "audio" and asset.duration_s is not None and limits.max_duration_s is not None
                    and asset.duration_s > limits.max_duration_s):
                errors.setdefault(below_input(concrete), []).append(
                    f"The audio is {asset.duration_s} s long; {entry.display_name} makes videos of at most "
                    f"{limits.max_duration_s} s, so the rest would be cut. Trim the audio to "
                    f"{limits.max_duration_s} s or less."
                )
    result.input_video_s = input_video_seconds(result.assets_by_path)


def input_video_seconds(assets_by_path: Mapping[str, Asset]) -> Decimal:
    """Seconds of reference video in the input, counted per use (the same video twice counts
    twice), for the models whose price includes them. The quote and the charge both use this."""
    return sum((a.duration_s or Decimal("0") for a in assets_by_path.values() if a.kind == "video"), Decimal("0"))


def assets_by_path(*, entry: ModelEntry, data: Mapping[str, Any], assets: Mapping[str, Asset]) -> dict[str, Asset]:
    """The stored input's assets by concrete path (``media[1].url``), from ``assets`` by id."""
    found: dict[str, Asset] = {}
    for slot in entry.asset_slots:
        for concrete, value, _holder in slot_values(slot, data):
            asset = assets.get(str(value))
            if asset is not None:
                found[concrete] = asset
    return found


# Replicate's ``webhook_events_filter`` words, mapped to our events (https://replicate.com/docs/topics/webhooks):
# "start" is job.running, "completed" the three final events; "output" and "logs" have no equivalent here.
_REPLICATE_EVENTS = {"start": ("job.running",), "completed": ("job.succeeded", "job.failed", "job.canceled")}


def job_webhook_validate(*, webhook: object, events_filter: object) -> tuple[str, list[str]]:
    """A job's own webhook URL (checked by the outbound-URL policy, https in production) and the
    events it asks for, in our names; ("", []) when there is none. By default the final events."""
    if webhook in (None, ""):
        if events_filter not in (None, []):
            raise ValidationError({"webhook_events_filter": ["Give a webhook URL for these events to go to."]})
        return "", []
    errors: dict[str, list[str]] = {}
    url, chosen = "", set(DEFAULT_EVENTS)
    try:
        url = webhook_url_check(webhook, field="webhook")
    except ValidationError as exc:
        errors.update(exc.message_dict)
    known = [*JOB_EVENTS, *_REPLICATE_EVENTS]
    if events_filter is not None:
        if not isinstance(events_filter, list) or not events_filter or \
                not all(isinstance(e, str) for e in events_filter):
            errors["webhook_events_filter"] = [f"Must be a non-empty list of: {', '.join(known)}."]
        elif unknown := [e for e in events_filter if e not in known]:
            errors["webhook_events_filter"] = [f"Unknown event {unknown[0]!r}. Known: {', '.join(known)}."]
        else:
            chosen = {event for name in events_filter for event in _REPLICATE_EVENTS.get(name, (name,))}
    if errors:
        raise ValidationError(errors)
    return url, [e for e in JOB_EVENTS if e in chosen]

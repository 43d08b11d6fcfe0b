"""The new-job form's schema-to-field translation: what Django field(s) each property of a catalogue
entry's ``input_schema`` gets, described by an ``InputField`` (or an ``InputGroup`` of rows).

Generation rules (one or two Django fields per schema property):

- ``enum`` -> a select (with a blank "default"/"choose" choice when the schema gives no default);
- ``integer`` / ``number`` -> a number input with ``minimum``/``maximum``;
- ``boolean`` -> a checkbox (sent as true/false when the schema has a default, else only when ticked);
- ``string`` -> a text input, or a textarea when ``maxLength`` > 200 (prompts, texts to speak);
- an asset string (one of the entry's ``asset_slots``: ``x-asset-kind`` or ``x-asset-kind-by``)
  -> a select of the tenant's assets of that kind (field ``<name>``) plus an upload input accepting
  that kind (field ``<name>__file``); an upload wins over the select;
- an array of objects (DashScope's ``media``) -> one row per item it allows (``maxItems``), named
  ``<name>__<row>__<field>``; empty rows are skipped, and a kind selector left blank (``type``) is
  inferred from the asset chosen or uploaded in its row;
- anything else -> a JSON textarea.

Help text is each property's ``description``; defaults are the initial values; empty optional
fields are left out of the input so the catalogue's defaults apply.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django import forms

from .models import Asset

SEP = "__"
UPLOAD_SUFFIX = "__file"
ARRAY_ROWS = 3  # rows shown for an array of objects without a maxItems
ARRAY_ROWS_MAX = 10  # with one, as many rows as it allows (the API's limit is the form's), up to this
LONG_TEXT_OVER = 200  # a string whose maxLength exceeds this gets a textarea
ASSET_CHOICES_LIMIT = 500  # newest assets offered in a select
ACCEPT = {"image": "image/*", "audio": "audio/*", "video": "video/*"}


@dataclass
class InputField:
    """One generated input: a schema property (top level, or inside one row of an array)."""

    name: str  # the form field's name (the asset select's, for an asset)
    key: str  # the property's name in its object
    label: str
    help_text: str
    kind: str  # "asset" | "enum" | "integer" | "number" | "boolean" | "string" | "json"
    required: bool  # required by the schema (within its row, for array items)
    has_default: bool
    asset_kinds: tuple[str, ...] = ()
    upload_name: str = ""
    enum_values: dict[str, Any] = field(default_factory=dict)
    kind_by: tuple[str, dict[str, str]] | None = None  # (sibling key, {sibling value: asset kind})
    textarea: bool = False

    @property
    def accept(self) -> str:
        return ",".join(ACCEPT.get(k, "") for k in self.asset_kinds if k in ACCEPT)

    @property
    def kinds_label(self) -> str:
        return " or ".join(self.asset_kinds)


@dataclass
class InputGroup:
    """An array of objects shown as a few fixed rows."""

    key: str
    label: str
    help_text: str
    required: bool
    min_items: int
    max_items: int | None
    rows: list[list[InputField]]


def _schema_type(prop: Mapping[str, Any]) -> str | None:
    value = prop.get("type")
    if isinstance(value, list):
        value = next((t for t in value if t != "null"), None)
    return value if isinstance(value, str) else None


def is_object_array(prop: Mapping[str, Any]) -> bool:
    items = prop.get("items")
    return (
        _schema_type(prop) == "array"
        and isinstance(items, Mapping)
        and _schema_type(items) == "object"
        and isinstance(items.get("properties"), Mapping)
    )


def _humanize(key: str) -> str:
    return key.replace("_", " ").strip().capitalize() or key


def asset_choice_label(asset: Asset) -> str:
    """How an asset reads in a select: its name, size or length, and a short id."""
    details = []
    if asset.width and asset.height:
        details.append(f"{asset.width}×{asset.height}")
    if asset.duration_s is not None:
        details.append(f"{asset.duration_s.normalize():f} s")
    name = asset.original_name or asset.kind
    suffix = f" ({', '.join(details)})" if details else ""
    return f"{name}{suffix} · {str(asset.id)[:8]}"


def schema_field(
    *,
    name: str,
    key: str,
    prop: Mapping[str, Any],
    required: bool,
    row: bool,
    kinds: tuple[str, ...],
    kind_by: tuple[str, dict[str, str]] | None,
    assets: Callable[[str], list[Asset]],
) -> tuple[InputField, dict[str, forms.Field]]:
    """The spec of one schema property and the Django field(s) that show it (named ``name``, and
    ``name + UPLOAD_SUFFIX`` for an asset's upload). ``kinds``/``kind_by`` come from the entry's
    asset slot for the property (none: not an asset); ``assets(kind)`` lists the tenant's choices."""
    fields: dict[str, forms.Field] = {}
    has_default = "default" in prop
    default = prop.get("default")
    # In a row, "required" is checked in clean() (an empty row is fine).
    django_required = required and not has_default and not row
    label = str(prop.get("title") or _humanize(key))
    help_text = str(prop.get("description") or "")
    spec = InputField(name=name, key=key, label=label, help_text=help_text, kind="string",
                      required=required, has_default=has_default)
    stype = _schema_type(prop)

    if kinds:
        spec.kind, spec.asset_kinds, spec.kind_by = "asset", kinds, kind_by
        spec.upload_name = name + UPLOAD_SUFFIX
        choices: list[Any] = [("", f"— choose one of your {spec.kinds_label} files —")]
        if len(kinds) == 1:
            choices += [(str(a.id), asset_choice_label(a)) for a in assets(kinds[0])]
        else:
            for kind in kinds:
                group = [(str(a.id), asset_choice_label(a)) for a in assets(kind)]
                if group:
                    choices.append((kind.capitalize(), group))
        fields[name] = forms.ChoiceField(choices=choices, required=False, label=label)
        fields[spec.upload_name] = forms.FileField(
            required=False, label=f"Upload a new {spec.kinds_label} file",
            widget=forms.ClearableFileInput(attrs={"accept": spec.accept}),
        )
    elif isinstance(prop.get("enum"), list):
        spec.kind = "enum"
        spec.enum_values = {str(v): v for v in prop["enum"]}
        choices = [(str(v), str(v)) for v in prop["enum"]]
        if not has_default:
            choices.insert(0, ("", "— choose —" if required else "— provider default —"))
        fields[name] = forms.ChoiceField(
            choices=choices, required=django_required, label=label,
            initial=str(default) if has_default else "",
        )
    elif stype in ("integer", "number"):
        spec.kind = stype
        bounds = {"min_value": prop.get("minimum"), "max_value": prop.get("maximum")}
        if stype == "integer":
            fields[name] = forms.IntegerField(required=django_required, label=label, initial=default, **bounds)
        else:
            fields[name] = forms.FloatField(
                required=django_required, label=label, initial=default,
                widget=forms.NumberInput(attrs={"step": "any"}), **bounds,
            )
    elif stype == "boolean":
        spec.kind = "boolean"
        fields[name] = forms.BooleanField(required=False, label=label, initial=bool(default))
    elif stype == "string":
        spec.kind = "string"
        max_length = prop.get("maxLength")
        spec.textarea = isinstance(max_length, int) and max_length > LONG_TEXT_OVER
        attrs: dict[str, Any] = {}
        if isinstance(max_length, int):
            attrs["maxlength"] = max_length
        widget = forms.Textarea(attrs={"rows": 4, **attrs}) if spec.textarea else forms.TextInput(attrs=attrs)
        fields[name] = forms.CharField(
            required=django_required, label=label, initial=default, widget=widget,
            max_length=max_length if isinstance(max_length, int) else None,
        )
    else:
        spec.kind = "json"
        spec.textarea = True
        fields[name] = forms.JSONField(
            required=django_required, label=label, initial=default,
            widget=forms.Textarea(attrs={"rows": 3}),
            help_text="As JSON.",
        )
    return spec, fields


def schema_group(
    key: str, prop: Mapping[str, Any], *, required: bool, add_field: Callable[..., InputField]
) -> InputGroup:
    """An array of objects as a few fixed rows; ``add_field(name=, key=, slot_path=, prop=,
    required=)`` adds the field of one property in one row and returns its spec."""
    items = prop["items"]
    item_required = set(items.get("required", []))
    min_items = int(prop.get("minItems") or 0)
    max_items = prop.get("maxItems")
    count = min(ARRAY_ROWS_MAX, max_items) if isinstance(max_items, int) else ARRAY_ROWS
    count = max(count, min_items, 1)
    rows = []
    for index in range(count):
        row = [
            add_field(
                name=f"{key}{SEP}{index}{SEP}{sub}", key=sub, slot_path=f"{key}[].{sub}", prop=sub_prop,
                required=sub in item_required,
            )
            for sub, sub_prop in items["properties"].items()
        ]
        for spec in row:  # say that a blank kind selector follows the file chosen in its row
            if spec.kind == "asset" and spec.kind_by is not None:
                for sibling in row:
                    if sibling.key == spec.kind_by[0]:
                        sibling.help_text = f"{sibling.help_text} Leave it blank to follow the file's kind.".strip()
        rows.append(row)
    return InputGroup(
        key=key, label=str(prop.get("title") or _humanize(key)), help_text=str(prop.get("description") or ""),
        required=required, min_items=min_items,
        max_items=max_items if isinstance(max_items, int) else None, rows=rows,
    )

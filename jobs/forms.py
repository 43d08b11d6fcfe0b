"""The dashboard's forms: the new-job form generated from a catalogue entry's ``input_schema``, and
the asset upload form.

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
fields are left out of the input so the catalogue's defaults apply. Errors the service reports by
path (``input.media[1].url``) are put back beside the field they concern (``media__1__url``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile

from accounts.models import Tenant
from providers.catalogue import ModelEntry

from .input_paths import INPUT, parse_path
from .models import Asset
from .selectors import asset_list

SEP = "__"
UPLOAD_SUFFIX = "__file"
ARRAY_ROWS = 3  # rows shown for an array of objects without a maxItems
ARRAY_ROWS_MAX = 10  # with one, as many rows as it allows (the API's limit is the form's), up to this
LONG_TEXT_OVER = 200  # a string whose maxLength exceeds this gets a textarea
ASSET_CHOICES_LIMIT = 500  # newest assets offered in a select
ACCEPT = {"image": "image/*", "audio": "audio/*", "video": "video/*"}

_OMIT = object()


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


def _is_object_array(prop: Mapping[str, Any]) -> bool:
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


class JobInputForm(forms.Form):
    """The input of one model, generated from its catalogue entry (see the module docstring)."""

    def __init__(self, *args: Any, entry: ModelEntry, tenant: Tenant, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.entry = entry
        self.tenant = tenant
        self.items: list[InputField | InputGroup] = []
        self.group_errors: dict[str, list[str]] = {}
        self._row_of: dict[str, list[int]] = {}  # array key -> row index of each submitted item
        self._assets_by_kind: dict[str, list[Asset]] = {}
        self._asset_kind_by_id: dict[str, str] = {}
        self._slots = {slot.path: slot for slot in entry.asset_slots}

        schema = entry.input_schema
        required = set(schema.get("required", []))
        for key, prop in entry.properties.items():
            if _is_object_array(prop):
                self.items.append(self._add_group(key, prop, required=key in required))
            else:
                self.items.append(
                    self._add_field(name=key, key=key, slot_path=key, prop=prop, required=key in required, row=False)
                )

    # --- building -------------------------------------------------------------------------

    def _assets(self, kind: str) -> list[Asset]:
        if kind not in self._assets_by_kind:
            assets = list(asset_list(tenant=self.tenant, kind=kind)[:ASSET_CHOICES_LIMIT])
            self._assets_by_kind[kind] = assets
            self._asset_kind_by_id.update({str(a.id): a.kind for a in assets})
        return self._assets_by_kind[kind]

    def _asset_spec(self, slot_path: str) -> tuple[tuple[str, ...], tuple[str, dict[str, str]] | None]:
        """The asset kinds a property takes (and the sibling choosing one), from the entry's slots."""
        slot = self._slots.get(slot_path)
        if slot is None:
            return (), None
        kind_by = (slot.kind_by[0], {str(k): str(v) for k, v in slot.kind_by[1].items()}) if slot.kind_by else None
        return tuple(slot.kinds), kind_by

    def _add_field(
        self, *, name: str, key: str, slot_path: str, prop: Mapping[str, Any], required: bool, row: bool
    ) -> InputField:
        has_default = "default" in prop
        default = prop.get("default")
        # In a row, "required" is checked in clean() (an empty row is fine).
        django_required = required and not has_default and not row
        label = str(prop.get("title") or _humanize(key))
        help_text = str(prop.get("description") or "")
        spec = InputField(name=name, key=key, label=label, help_text=help_text, kind="string",
                          required=required, has_default=has_default)
        kinds, kind_by = self._asset_spec(slot_path)
        stype = _schema_type(prop)

        if kinds:
            spec.kind, spec.asset_kinds, spec.kind_by = "asset", kinds, kind_by
            spec.upload_name = name + UPLOAD_SUFFIX
            choices: list[Any] = [("", f"— choose one of your {spec.kinds_label} files —")]
            if len(kinds) == 1:
                choices += [(str(a.id), asset_choice_label(a)) for a in self._assets(kinds[0])]
            else:
                for kind in kinds:
                    group = [(str(a.id), asset_choice_label(a)) for a in self._assets(kind)]
                    if group:
                        choices.append((kind.capitalize(), group))
            self.fields[name] = forms.ChoiceField(choices=choices, required=False, label=label)
            self.fields[spec.upload_name] = forms.FileField(
                required=False, label=f"Upload a new {spec.kinds_label} file",
                widget=forms.ClearableFileInput(attrs={"accept": spec.accept}),
            )
        elif isinstance(prop.get("enum"), list):
            spec.kind = "enum"
            spec.enum_values = {str(v): v for v in prop["enum"]}
            choices = [(str(v), str(v)) for v in prop["enum"]]
            if not has_default:
                choices.insert(0, ("", "— choose —" if required else "— provider default —"))
            self.fields[name] = forms.ChoiceField(
                choices=choices, required=django_required, label=label,
                initial=str(default) if has_default else "",
            )
        elif stype in ("integer", "number"):
            spec.kind = stype
            bounds = {"min_value": prop.get("minimum"), "max_value": prop.get("maximum")}
            if stype == "integer":
                self.fields[name] = forms.IntegerField(required=django_required, label=label, initial=default, **bounds)
            else:
                self.fields[name] = forms.FloatField(
                    required=django_required, label=label, initial=default,
                    widget=forms.NumberInput(attrs={"step": "any"}), **bounds,
                )
        elif stype == "boolean":
            spec.kind = "boolean"
            self.fields[name] = forms.BooleanField(required=False, label=label, initial=bool(default))
        elif stype == "string":
            spec.kind = "string"
            max_length = prop.get("maxLength")
            spec.textarea = isinstance(max_length, int) and max_length > LONG_TEXT_OVER
            attrs: dict[str, Any] = {}
            if isinstance(max_length, int):
                attrs["maxlength"] = max_length
            widget = forms.Textarea(attrs={"rows": 4, **attrs}) if spec.textarea else forms.TextInput(attrs=attrs)
            self.fields[name] = forms.CharField(
                required=django_required, label=label, initial=default, widget=widget,
                max_length=max_length if isinstance(max_length, int) else None,
            )
        else:
            spec.kind = "json"
            spec.textarea = True
            self.fields[name] = forms.JSONField(
                required=django_required, label=label, initial=default,
                widget=forms.Textarea(attrs={"rows": 3}),
                help_text="As JSON.",
            )
        return spec

    def _add_group(self, key: str, prop: Mapping[str, Any], *, required: bool) -> InputGroup:
        items = prop["items"]
        item_required = set(items.get("required", []))
        min_items = int(prop.get("minItems") or 0)
        max_items = prop.get("maxItems")
        count = min(ARRAY_ROWS_MAX, max_items) if isinstance(max_items, int) else ARRAY_ROWS
        count = max(count, min_items, 1)
        rows = []
        for index in range(count):
            row = [
                self._add_field(
                    name=f"{key}{SEP}{index}{SEP}{sub}", key=sub, slot_path=f"{key}[].{sub}", prop=sub_prop,
                    required=sub in item_required, row=True,
                )
                for sub, sub_prop in items["properties"].items()
            ]
            for spec in row:  # say that a blank kind selector follows the file chosen in its row
                if spec.kind == "asset" and spec.kind_by is not None:
                    for sibling in row:
                        if sibling.key == spec.kind_by[0]:
                            sibling.help_text = f"{sibling.help_text} Leave it blank to follow the file's kind.".strip()
            rows.append(row)
        self.group_errors[key] = []
        return InputGroup(
            key=key, label=str(prop.get("title") or _humanize(key)), help_text=str(prop.get("description") or ""),
            required=required, min_items=min_items,
            max_items=max_items if isinstance(max_items, int) else None, rows=rows,
        )

    # --- reading --------------------------------------------------------------------------

    def _fields(self) -> list[InputField]:
        out: list[InputField] = []
        for item in self.items:
            if isinstance(item, InputField):
                out.append(item)
            else:
                for row in item.rows:
                    out.extend(row)
        return out

    def _raw(self, name: str) -> Any:
        return self.data.get(self.add_prefix(name))

    def _has_asset(self, spec: InputField) -> bool:
        return bool(self._raw(spec.name)) or bool(self.files.get(self.add_prefix(spec.upload_name)))

    def _row_used(self, row: list[InputField]) -> bool:
        for spec in row:
            if spec.kind == "asset":
                if self._has_asset(spec):
                    return True
            elif spec.kind != "boolean":
                raw = self._raw(spec.name)
                initial = self.fields[spec.name].initial
                if raw not in (None, "") and raw != ("" if initial is None else str(initial)):
                    return True
        return False

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        for item in self.items:
            if isinstance(item, InputField):
                if item.kind == "asset" and item.required and not self._has_asset(item):
                    self.add_error(item.name, "Choose one of your files or upload a new one.")
                continue
            self.group_errors[item.key] = []
            used = 0
            for row in item.rows:
                if not self._row_used(row):
                    continue
                used += 1
                inferred = {s.kind_by[0] for s in row if s.kind == "asset" and s.kind_by and self._has_asset(s)}
                for spec in row:
                    if not spec.required or spec.has_default or spec.name in self.errors:
                        continue
                    if spec.kind == "asset":
                        if not self._has_asset(spec):
                            self.add_error(spec.name, "Choose one of your files or upload a new one for this row.")
                    elif spec.key not in inferred and cleaned.get(spec.name) in (None, ""):
                        self.add_error(spec.name, "This field is required in a row you filled in.")
            if used < item.min_items:
                self.group_errors[item.key].append(
                    f"Fill in at least {item.min_items} row{'s' if item.min_items != 1 else ''}."
                )
        return cleaned

    @property
    def has_group_errors(self) -> bool:
        return any(self.group_errors.values())

    def is_valid(self) -> bool:
        valid = super().is_valid()
        return valid and not any(self.group_errors.values())

    def uploads(self) -> list[tuple[str, UploadedFile]]:
        """(field name, file) for each new file to store as an asset, in the form's order."""
        out = []
        for spec in self._fields():
            if spec.kind == "asset":
                upload = self.files.get(self.add_prefix(spec.upload_name))
                if upload is not None:
                    out.append((spec.name, upload))
        return out

    def _value(self, spec: InputField, uploaded: Mapping[str, Asset]) -> Any:
        if spec.kind == "asset":
            if spec.name in uploaded:
                return str(uploaded[spec.name].id)
            return self.cleaned_data.get(spec.name) or _OMIT
        value = self.cleaned_data.get(spec.name)
        if spec.kind == "boolean":
            if spec.has_default:
                return bool(value)
            return True if value else _OMIT
        if value is None or value == "":
            return _OMIT
        if spec.kind == "enum":
            return spec.enum_values.get(value, value)
        return value

    def _asset_kind(self, spec: InputField, uploaded: Mapping[str, Asset]) -> str | None:
        if spec.name in uploaded:
            return uploaded[spec.name].kind
        return self._asset_kind_by_id.get(str(self.cleaned_data.get(spec.name) or ""))

    def build_input(self, uploaded: Mapping[str, Asset]) -> dict[str, Any]:
        """The job input: asset ids where files go (``uploaded`` maps field names to the assets
        just stored), values cast to their schema types, empty optional fields left out."""
        data: dict[str, Any] = {}
        self._row_of = {}
        for item in self.items:
            if isinstance(item, InputField):
                value = self._value(item, uploaded)
                if value is not _OMIT:
                    data[item.key] = value
                continue
            objects, row_indexes = [], []
            for index, row in enumerate(item.rows):
                if not self._row_used(row):
                    continue
                values = {spec.key: self._value(spec, uploaded) for spec in row}
                for spec in row:  # a blank kind selector follows the asset chosen in its row
                    if spec.kind == "asset" and spec.kind_by and values[spec.key] is not _OMIT:
                        sibling, kinds = spec.kind_by
                        if values.get(sibling, _OMIT) is _OMIT:
                            by_kind = {kind: value for value, kind in kinds.items()}
                            kind = self._asset_kind(spec, uploaded)
                            if kind in by_kind:
                                values[sibling] = by_kind[kind]
                objects.append({k: v for k, v in values.items() if v is not _OMIT})
                row_indexes.append(index)
            self._row_of[item.key] = row_indexes
            if objects:
                data[item.key] = objects
        return data

    # --- errors ---------------------------------------------------------------------------

    def field_for_path(self, path: str) -> str | None:
        """The form field (or array group key) an error path such as ``input.media[1].url``
        belongs to, or None when no field shows it."""
        parts = parse_path(path)
        if not parts or not isinstance(parts[0], str):
            return None
        head = parts[0]
        if head in self.group_errors:
            if len(parts) >= 3 and isinstance(parts[1], int) and isinstance(parts[2], str):
                rows = self._row_of.get(head, [])
                row = rows[parts[1]] if parts[1] < len(rows) else parts[1]
                name = f"{head}{SEP}{row}{SEP}{parts[2]}"
                return name if name in self.fields else head
            return head
        return head if len(parts) == 1 and head in self.fields else None

    def add_path_errors(self, exc: ValidationError) -> None:
        """Put a service's ValidationError ({path: [messages]}) beside the fields it names; the
        rest goes to the top of the form."""
        if not hasattr(exc, "error_dict"):
            self.add_error(None, exc.messages)
            return
        for path, messages in exc.message_dict.items():
            target = self.field_for_path(path)
            if target in self.group_errors:
                self.group_errors[target].extend(messages)
            elif target is not None:
                self.add_error(target, messages)
            else:
                label = path.removeprefix(f"{INPUT}.")
                plain = path in ("model", INPUT, "__all__")
                self.add_error(None, [m if plain else f"{label}: {m}" for m in messages])

    def add_upload_error(self, name: str, exc: ValidationError) -> None:
        """An ``asset_create`` refusal, shown beside the upload input of field ``name``."""
        messages = exc.message_dict.get("file", exc.messages) if hasattr(exc, "error_dict") else exc.messages
        self.add_error(name + UPLOAD_SUFFIX, messages)

    # --- rendering ------------------------------------------------------------------------

    def _bound(self, spec: InputField) -> dict[str, Any]:
        bound = self[spec.name]
        upload = self[spec.upload_name] if spec.upload_name else None
        errors = list(bound.errors) + (list(upload.errors) if upload is not None else [])
        return {"spec": spec, "field": bound, "upload": upload, "errors": errors}

    def layout(self) -> list[dict[str, Any]]:
        """What the template walks: fields and groups in schema order, with their errors."""
        out: list[dict[str, Any]] = []
        for item in self.items:
            if isinstance(item, InputField):
                out.append({"group": None, **self._bound(item)})
            else:
                out.append({
                    "group": item,
                    "errors": self.group_errors.get(item.key, []),
                    "rows": [[self._bound(spec) for spec in row] for row in item.rows],
                })
        return out


class AssetUploadForm(forms.Form):
    file = forms.FileField(
        label="File", widget=forms.ClearableFileInput(attrs={"accept": "image/*,audio/*,video/*"}),
        help_text="An image (JPEG, PNG, WEBP), audio (WAV, MP3, …) or video (MP4, MOV). "
                  "Its kind is read from the content, not the name.",
    )

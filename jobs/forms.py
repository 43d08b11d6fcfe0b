"""The dashboard's forms: the new-job form for a catalogue entry, and the asset upload form.

The new-job form's fields are generated from the entry's ``input_schema`` in ``jobs.form_fields``;
here the form reads what was filled in (empty optional fields are left out of the input so the
catalogue's defaults apply; empty rows of an array are skipped) and puts the errors the service
reports by path (``input.media[1].url``) back beside the field they concern (``media__1__url``).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile

from accounts.models import Tenant
from providers.catalogue import ModelEntry

from .form_fields import (
    ASSET_CHOICES_LIMIT,
    SEP,
    UPLOAD_SUFFIX,
    InputField,
    InputGroup,
    is_object_array,
    schema_field,
    schema_group,
)
from .input_labels import input_label
from .input_paths import INPUT, parse_path
from .models import Asset
from .selectors import asset_list

_OMIT = object()


def form_initial(data: Mapping[str, Any]) -> dict[str, Any]:
    """A job's input as the new-job form's initial values, so that it can be run again with changes:
    top-level values by name, each row of an array of objects as ``<name>__<row>__<field>``."""
    initial: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, list) and value and all(isinstance(item, Mapping) for item in value):
            for index, item in enumerate(value):
                for field_key, field_value in item.items():
                    initial[f"{key}{SEP}{index}{SEP}{field_key}"] = field_value
        else:
            initial[key] = value
    return initial


class JobInputForm(forms.Form):
    """The input of one model, generated from its catalogue entry (the rules: ``jobs.form_fields``)."""

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
            if is_object_array(prop):
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
        kinds, kind_by = self._asset_spec(slot_path)
        spec, fields = schema_field(
            name=name, key=key, prop=prop, required=required, row=row, kinds=kinds, kind_by=kind_by,
            assets=self._assets,
        )
        self.fields.update(fields)
        return spec

    def _add_group(self, key: str, prop: Mapping[str, Any], *, required: bool) -> InputGroup:
        group = schema_group(key, prop, required=required, add_field=partial(self._add_field, row=True))
        self.group_errors[key] = []
        return group

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
                parts = parse_path(path)
                plain = path in ("model", INPUT, "__all__") or not parts
                label = "" if plain else input_label(self.entry, parts)
                self.add_error(None, [m if plain else f"{label}: {m}" for m in messages])

    def wrong_kind(self, name: str, asset: Asset) -> str | None:
        """Why a file stored for field ``name`` does not fit it (an audio file given as the image),
        in the form's words; None when it fits."""
        spec = next((s for s in self._fields() if s.name == name), None)
        if spec is None or not spec.asset_kinds or asset.kind in spec.asset_kinds:
            return None
        article = "an" if spec.kinds_label[:1] in "aeiou" else "a"
        return (f"This file is {'an' if asset.kind[:1] in 'aeiou' else 'a'} {asset.kind} file; "
                f"{spec.label} takes {article} {spec.kinds_label} file.")

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

"""``client.assets``, ``client.quotes`` and ``client.models``: the smaller resources."""

from __future__ import annotations

import os
import uuid
from typing import IO, TYPE_CHECKING, Any

from .files import File, replace_files
from .pages import page_of
from .types import Asset, Model, Page, Quote

if TYPE_CHECKING:
    from .client import Client


class Assets:
    def __init__(self, client: Client) -> None:
        self._client = client

    def create(self, file: File | str | os.PathLike[str] | bytes | IO[bytes], *, filename: str | None = None,
               idempotency_key: str | None = None) -> Asset:
        """Upload an image, audio or video (its type is read from its content by the server). A
        ``str`` here is a path: this call is only about files."""
        marker = file if isinstance(file, File) else File(file, filename)
        if marker.path is not None and not marker.path.is_file():
            raise FileNotFoundError(f"No such file: {marker.path}")
        response = self._client.transport.request("POST", "assets", files=lambda: {"file": marker.opened()},
                                                   idempotency_key=idempotency_key or str(uuid.uuid4()))
        return Asset.from_dict(response.json())

    def upload_file(self, file: File) -> str:
        """The asset id of an uploaded input file (used by ``jobs.create``)."""
        return self.create(file).id

    def get(self, asset_id: str) -> Asset:
        return Asset.from_dict(self._client.transport.request("GET", f"assets/{asset_id}").json())

    def list(self, *, kind: str | None = None, limit: int | None = None, cursor: str | None = None) -> Page[Asset]:
        response = self._client.transport.request("GET", "assets", params={"kind": kind, "limit": limit,
                                                                            "cursor": cursor})
        return page_of(response.json(), Asset.from_dict)

    def delete(self, asset_id: str) -> None:
        """ConflictError while an unfinished job uses it."""
        self._client.transport.request("DELETE", f"assets/{asset_id}")


class Quotes:
    def __init__(self, client: Client) -> None:
        self._client = client

    def create(self, *, model: str, input: dict[str, Any]) -> Quote:  # noqa: A002 - the API's name
        """What a job with this body would cost, validated as ``jobs.create`` is; creates no job (local
        files in ``input`` are uploaded, as they must be read to be priced)."""
        body = {"model": model, "input": replace_files(input, self._client.assets.upload_file)}
        return Quote.from_dict(self._client.transport.request("POST", "quotes", json=body).json())


class Models:
    def __init__(self, client: Client) -> None:
        self._client = client

    def list(self) -> list[Model]:
        return [Model.from_dict(m) for m in self._client.transport.request("GET", "models").json()["results"]]

    def get(self, model_id: str) -> Model:
        return Model.from_dict(self._client.transport.request("GET", f"models/{model_id}").json())

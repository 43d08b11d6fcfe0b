"""Streaming a stored file with HTTP byte ranges, so that a browser's video player can seek
(Django's FileResponse always sends the whole file)."""

from __future__ import annotations

import re

from django.db.models.fields.files import FieldFile
from django.http import FileResponse, HttpRequest, HttpResponse, StreamingHttpResponse

# One range of ASCII digits (RFC 9110, 14.1.2); any other form (several ranges, other units) is
# ignored and the whole file sent, as the RFC allows.
_RANGE = re.compile(r"bytes=([0-9]*)-([0-9]*)", re.ASCII | re.IGNORECASE)
_CHUNK = 256 * 1024
# Positions are read with at most this many significant digits: a longer number is past the end of
# any file we store, and int() of a huge one costs time (and raises past 4300 digits).
_MAX_DIGITS = 18
_BEYOND = 10**_MAX_DIGITS


def _position(digits: str) -> int:
    """A byte position as sent, or ``_BEYOND`` for one larger than any file (however long)."""
    digits = digits.lstrip("0") or "0"
    return int(digits) if len(digits) <= _MAX_DIGITS else _BEYOND


def _chunks(handle, start: int, length: int):  # noqa: ANN001, ANN202
    try:
        handle.seek(start)
        left = length
        while left > 0:
            data = handle.read(min(_CHUNK, left))
            if not data:
                break
            left -= len(data)
            yield data
    finally:
        handle.close()


def stored_file_response(
    request: HttpRequest, file: FieldFile, *, content_type: str, filename: str, as_attachment: bool = False
) -> HttpResponse:
    """The whole file (200) or the one byte range asked for (206); 416 for a range past the end."""
    size = file.size
    match = _RANGE.fullmatch(request.headers.get("Range", "").strip())
    if not match or (not match.group(1) and not match.group(2)):
        response: HttpResponse = FileResponse(file.open("rb"), content_type=content_type, filename=filename,
                                              as_attachment=as_attachment)
        response["Accept-Ranges"] = "bytes"
        return response
    first, last = match.groups()
    if first:
        start, end = _position(first), min(_position(last) if last else size - 1, size - 1)
    else:  # "bytes=-N": the last N bytes
        start, end = max(0, size - _position(last)), size - 1
    if start >= size or start > end:
        response = HttpResponse(status=416)
        response["Content-Range"] = f"bytes */{size}"
        return response
    length = end - start + 1
    response = StreamingHttpResponse(_chunks(file.open("rb"), start, length), status=206, content_type=content_type)
    response["Content-Range"] = f"bytes {start}-{end}/{size}"
    response["Content-Length"] = str(length)
    response["Accept-Ranges"] = "bytes"
    disposition = "attachment" if as_attachment else "inline"
    response["Content-Disposition"] = f'{disposition}; filename="{filename}"'
    return response

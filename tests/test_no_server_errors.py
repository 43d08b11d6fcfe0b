"""Nothing a client sends is a 500: junk in the dashboard's query parameters and in the ``Range``
header of the output URLs, and multipart bodies past Django's field and file counts.

PostgreSQL refuses a NUL in a text parameter (psycopg raises ValueError before sending it), which
SQLite stores happily; so these tests refuse it the same way on any database."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path

import hypothesis
import pytest
from django.core.files import File
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from hypothesis import HealthCheck
from hypothesis import strategies as st

from accounts.models import Role
from jobs.models import Job, JobStatus
from tests.media_fixtures import make_mp4

pytestmark = pytest.mark.django_db


@pytest.fixture
def done(tenant, tmp_path) -> tuple[Job, bytes]:
    """A succeeded job with a real MP4 output."""
    video = make_mp4(tmp_path / "out.mp4", seconds=1.0)
    job = Job(tenant=tenant, model_id="local/still", provider="local", status=JobStatus.SUCCEEDED, input={},
              quote_seconds=Decimal("1"), quote_amount=Decimal("0.01"))
    with open(video, "rb") as fh:
        job.output.save("out.mp4", File(fh), save=False)
    job.save(force_insert=True)
    return job, Path(video).read_bytes()


@pytest.fixture
def owner(dashboard_login, tenant):
    client = dashboard_login(tenant)
    client.raise_request_exception = False  # a 500 is an answer to assert on, not an exception here
    return client


def _values(params: object) -> Iterator[object]:
    if isinstance(params, list | tuple):
        for item in params:
            yield from _values(item)
    elif isinstance(params, dict):
        yield from _values(list(params.values()))
    else:
        yield params


def _refuse_nul(execute, sql, params, many, context):  # noqa: ANN001, ANN202 - Django's execute_wrapper
    if any(isinstance(value, str) and "\x00" in value for value in _values(params)):
        raise ValueError("PostgreSQL text fields cannot contain NUL (0x00) bytes")  # psycopg's words
    return execute(sql, params, many, context)


@contextmanager
def nul_refused_as_by_postgresql() -> Iterator[None]:
    with connection.execute_wrapper(_refuse_nul):
        yield


# --- the dashboard's filters ------------------------------------------------------------------
@pytest.mark.parametrize("htmx", [False, True])
def test_a_nul_in_the_jobs_model_filter_is_ignored_before_it_reaches_the_database(owner, done, htmx):
    job, _ = done
    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    with nul_refused_as_by_postgresql():
        response = owner.get("/jobs/", {"model": "\x00", "status": "succeeded\x00"}, **headers)
    assert response.status_code == 200
    assert str(job.id) in response.content.decode()  # the refused filters filter nothing


def test_a_valid_filter_still_filters(owner, done):
    job, _ = done
    assert str(job.id) in owner.get("/jobs/", {"model": "local/still", "status": "succeeded"}).content.decode()
    assert str(job.id) not in owner.get("/jobs/", {"model": "fal-ai/ai-avatar"}).content.decode()
    assert str(job.id) not in owner.get("/jobs/", {"status": "queued"}).content.decode()
    too_long = owner.get("/jobs/", {"model": "m" * 101})  # longer than any model id: ignored
    assert too_long.status_code == 200 and str(job.id) in too_long.content.decode()


def test_a_session_cookie_of_nuls_is_no_session_not_a_500(client, dashboard_login, tenant):
    """http.cookies unquotes ``"\\000"`` to a NUL; Django's keys are lowercase letters and digits."""
    client.raise_request_exception = False
    with nul_refused_as_by_postgresql():
        response = client.get("/jobs/", HTTP_COOKIE='sessionid="' + "\\000" * 32 + '"')
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    owner = dashboard_login(tenant)  # a real session still works
    with nul_refused_as_by_postgresql():
        assert owner.get("/jobs/").status_code == 200


# --- multipart past Django's counts -----------------------------------------------------------
def _error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"] == "application/json"
    error = response.json()["error"]
    assert error["code"] == code, error
    return error


def test_a_multipart_upload_with_too_many_fields_is_a_json_400_naming_the_limit(api_client, settings):
    fields = {f"f{i}": "x" for i in range(settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1)}
    error = _error(api_client().post("/api/v1/assets", fields, format="multipart"), 400, "too_many_fields")
    assert str(settings.DATA_UPLOAD_MAX_NUMBER_FIELDS) in error["message"]
    form = api_client().post("/api/v1/assets", fields)  # urlencoded: the same limit
    assert _error(form, 400, "too_many_fields")


def test_a_multipart_upload_with_too_many_files_is_a_json_400_naming_the_limit(api_client, settings):
    files = {f"file{i}": SimpleUploadedFile(f"{i}.txt", b"x") for i in range(settings.DATA_UPLOAD_MAX_NUMBER_FILES + 1)}
    error = _error(api_client().post("/api/v1/assets", files, format="multipart"), 400, "too_many_files")
    assert str(settings.DATA_UPLOAD_MAX_NUMBER_FILES) in error["message"]


def test_a_multipart_field_past_the_memory_limit_is_a_json_413(api_client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = api_client().post("/api/v1/assets", {"note": "x" * 2000}, format="multipart")
    assert "1000" in _error(response, 413, "request_too_large")["message"]


def test_the_dashboard_answers_too_many_fields_with_a_400_page(owner, settings):
    fields = {f"f{i}": "x" for i in range(settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1)}
    assert owner.post("/assets/", fields).status_code == 400


# --- property tests: no 500 whatever the query or the Range -----------------------------------
_NO_SURROGATES = st.characters(exclude_categories=("Cs",))
# Python's int() refuses more than 4300 digits; around that limit is where a parser breaks.
_HUGE = st.one_of(st.sampled_from([19, 20, 4300, 4301, 6000]), st.integers(min_value=1, max_value=6000)).map(
    lambda n: "9" * n)
_NUMBERS = st.one_of(st.integers().map(str), _HUGE, _HUGE.map(lambda s: f"-{s}"),
                     st.sampled_from(["1e400", "inf", "NaN", "0x10", "1.5", "", " 1", "\x001"]))
_TEXT = st.one_of(st.just("\x00"), st.text(_NO_SURROGATES, max_size=40),
                  st.tuples(st.text(_NO_SURROGATES, max_size=5), st.text(_NO_SURROGATES, max_size=5)).map(
                      lambda t: f"{t[0]}\x00{t[1]}"), _NUMBERS)
_CURSOR = st.binary(max_size=40).map(lambda b: base64.b64encode(b).decode())
_VALID = {"status": [s for s, _ in JobStatus.choices], "model": ["local/still", "fal-ai/ai-avatar"],
          "kind": ["image", "audio", "video"], "page": ["1", "2", "last"], "download": ["1"], "limit": ["1", "100"]}
_PARAMS = [*_VALID, "cursor", "next", "q"]


def _value_for(name: str) -> st.SearchStrategy[str]:
    extra = [st.sampled_from(_VALID[name])] if name in _VALID else []
    if name == "cursor":
        extra.append(_CURSOR)
    return st.one_of(*extra, _TEXT)


def _queries() -> st.SearchStrategy[dict[str, str]]:
    names = st.one_of(st.sampled_from(_PARAMS), st.text(_NO_SURROGATES, min_size=1, max_size=8))
    return st.lists(names, min_size=1, max_size=4, unique=True).flatmap(
        lambda names: st.fixed_dictionaries({name: _value_for(name) for name in names}))


_PAGES = ["/", "/jobs/", "/jobs/new/", "/assets/", "/settings/api-keys/", "/jobs/{job}/", "/jobs/{job}/output",
          "/api/v1/jobs", "/api/v1/assets", "/api/v1/models", "/api/v1/api-keys",
          "/settings/team/", "/settings/team/audit/", "/invitations/not-a-token/"]


@pytest.mark.parametrize("page", _PAGES)
@hypothesis.settings(max_examples=40, deadline=None, derandomize=True,
                     suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@hypothesis.given(query=_queries(), htmx=st.booleans())
@hypothesis.example(query={"model": "\x00", "status": "\x00", "kind": "\x00"}, htmx=False)  # the trial's
@hypothesis.example(query={"page": "9" * 4301, "cursor": "\x00", "limit": "9" * 4301}, htmx=True)
def test_no_query_on_any_dashboard_or_api_page_is_a_500(owner, api_client, done, page, query, htmx):
    job, _ = done
    if not hasattr(owner, "api"):
        owner.api = api_client(Role.ADMIN)
    path = page.format(job=job.id)
    get = owner.api.get if path.startswith("/api/") else owner.get
    with nul_refused_as_by_postgresql():
        response = get(path, query, **({"HTTP_HX_REQUEST": "true"} if htmx else {}))
    assert response.status_code < 500, (path, query, response.status_code)
    if path.startswith("/api/") and response.status_code >= 400:
        assert "error" in response.json()


def _ranges() -> st.SearchStrategy[str]:
    digits = st.one_of(_HUGE, st.just(""), st.integers(min_value=0, max_value=10**6).map(str),
                       st.integers(min_value=0, max_value=6000).map(lambda n: "0" * n + "1"))
    one = st.tuples(digits, digits).map(lambda p: f"{p[0]}-{p[1]}")
    structured = st.tuples(st.sampled_from(["bytes=", "bytes=", "BYTES=", "bytes =", "items=", ""]),
                           st.one_of(one, st.lists(one, min_size=2, max_size=3).map(",".join))).map("".join)
    latin1 = st.characters(max_codepoint=0xFF, exclude_characters="\r\n")  # what a WSGI header can hold
    return st.one_of(structured, st.text(latin1, max_size=60), st.text(latin1, max_size=5).map(lambda s: f"bytes={s}"))


@pytest.mark.parametrize("surface", ["api", "dashboard"])
@hypothesis.settings(max_examples=100, deadline=None, derandomize=True,
                     suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@hypothesis.given(header=_ranges())
@hypothesis.example(header=f"bytes={'9' * 4301}-")  # the trial's
@hypothesis.example(header=f"bytes=-{'9' * 4301}")
@hypothesis.example(header=f"bytes=0-{'0' * 4301}")
def test_no_range_header_on_either_output_url_is_a_500(owner, api_client, done, surface, header):
    job, data = done
    if not hasattr(owner, "api"):
        owner.api = api_client(Role.VIEWER)
    get, url = (owner.get, f"/jobs/{job.id}/output") if surface == "dashboard" else (
        owner.api.get, f"/api/v1/jobs/{job.id}/output")
    response = get(url, HTTP_RANGE=header)
    size = len(data)
    assert response.status_code in (200, 206, 416), (header, response.status_code)
    if response.status_code == 416:
        assert response["Content-Range"] == f"bytes */{size}"
        return
    body = b"".join(response.streaming_content)
    if response.status_code == 200:
        assert body == data
        return
    first, _, rest = response["Content-Range"].removeprefix("bytes ").partition("-")
    last, _, total = rest.partition("/")
    assert int(total) == size and 0 <= int(first) <= int(last) < size
    assert body == data[int(first):int(last) + 1]

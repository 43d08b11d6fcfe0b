"""What the API answers for a bad page size and for the output of an unfinished job: the 400 naming
``limit`` and the 409 that the README's error table promises."""

from __future__ import annotations

import pytest

from accounts.models import Role
from tests.conftest import upload
from tests.jobs.test_apis import assert_error, create_job, move_to
from tests.media_fixtures import make_png

LISTS = ["/api/v1/jobs", "/api/v1/assets", "/api/v1/api-keys"]


@pytest.mark.parametrize("url", LISTS)
@pytest.mark.parametrize("limit", ["abc", "0", "-1", "101", "1.5", "", "٣", "9" * 5000])
def test_a_bad_limit_is_a_400_naming_it(api_client, url, limit):
    client = api_client(Role.ADMIN)
    error = assert_error(client.get(url, {"limit": limit}), 400, "invalid")
    assert list(error["fields"]) == ["limit"]
    assert "1 to 100" in error["fields"]["limit"][0]


@pytest.mark.parametrize("limit", ["1", "100"])
def test_limits_within_bounds_are_used(member_client, tmp_path, limit):
    for i in range(2):  # two contents: the same one again is the same asset
        upload(member_client, make_png(tmp_path / f"{i}.png", width=20 + i))
    body = member_client.get("/api/v1/assets", {"limit": limit}).json()
    assert len(body["results"]) == min(int(limit), 2)
    assert (body["next"] is None) == (limit == "100")


def test_a_forged_cursor_is_a_400_naming_it(member_client):
    error = assert_error(member_client.get("/api/v1/jobs", {"cursor": "not-a-cursor"}), 400, "invalid")
    assert list(error["fields"]) == ["cursor"]


def test_the_output_of_an_unfinished_job_is_a_409(member_client, png_file, wav_file):
    job = create_job(member_client, upload(member_client, png_file)["id"], upload(member_client, wav_file)["id"])
    error = assert_error(member_client.get(f"/api/v1/jobs/{job['id']}/output"), 409, "job_not_finished")
    assert "queued" in error["message"]
    move_to(job["id"], "canceled")
    error = assert_error(member_client.get(f"/api/v1/jobs/{job['id']}/output"), 409, "job_not_finished")
    assert "canceled" in error["message"]


def test_an_unknown_usage_format_is_a_400_naming_it(member_client):
    error = assert_error(member_client.get("/api/v1/usage", {"format": "xml"}), 400, "invalid")
    assert list(error["fields"]) == ["format"]
    assert member_client.get("/api/v1/usage", {"format": "csv"})["Content-Type"].startswith("text/csv")


@pytest.mark.parametrize("method", ["post", "put", "delete", "patch"])
def test_a_write_to_an_unknown_api_path_is_a_json_404_not_a_csrf_page(member_client, method):
    """Found by the fuzzing: an id that the URL does not match (``/api-keys/-1/revoke``) fell through
    to the catch-all, where Django's CSRF check answered its HTML 403."""
    from django.test import Client

    for client in (member_client, Client(enforce_csrf_checks=True)):
        response = getattr(client, method)("/api/v1/api-keys/-1/revoke")
        assert_error(response, 404, "not_found")

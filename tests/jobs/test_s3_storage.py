"""Assets and outputs in S3 through django-storages, against moto's S3 server over real HTTP."""

from __future__ import annotations

import boto3
import httpx
import pytest
from moto.server import ThreadedMotoServer

from jobs.models import Asset
from jobs.signed_urls import asset_signed_url
from providers.media import sniff_and_probe
from tests.conftest import upload

BUCKET = "parley-test"


@pytest.fixture(scope="module")
def moto_server():
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3_storage(settings, moto_server, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    client = boto3.client("s3", endpoint_url=moto_server, region_name="us-east-1",
                          aws_access_key_id="testing", aws_secret_access_key="testing")
    client.create_bucket(Bucket=BUCKET)
    settings.STORAGE_BACKEND = "s3"
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {"bucket_name": BUCKET, "endpoint_url": moto_server, "region_name": "us-east-1",
                        "access_key": "testing", "secret_key": "testing", "querystring_auth": True,
                        "file_overwrite": False},
        },
    }
    return client


def test_uploaded_asset_lands_in_s3_and_its_signed_url_serves_it(s3_storage, member_client, png_file, tmp_path):
    body = upload(member_client, png_file)
    asset = Asset.objects.get(pk=body["id"])
    keys = [o["Key"] for o in s3_storage.list_objects_v2(Bucket=BUCKET).get("Contents", [])]
    assert asset.file.name in keys
    assert asset.file.name.startswith(f"tenants/{asset.tenant_id}/assets/")

    url = asset_signed_url(asset=asset, ttl_s=300)
    assert "X-Amz-Signature=" in url or "Signature=" in url
    response = httpx.get(url, timeout=10)
    assert response.status_code == 200
    (tmp_path / "back.png").write_bytes(response.content)
    assert sniff_and_probe(tmp_path / "back.png").kind == "image"
    # without the signature the bucket refuses
    assert httpx.get(url.split("?", 1)[0], timeout=10).status_code == 403


def test_deleting_an_asset_removes_the_object(s3_storage, member_client, png_file, django_capture_on_commit_callbacks):
    body = upload(member_client, png_file)
    name = Asset.objects.get(pk=body["id"]).file.name
    with django_capture_on_commit_callbacks(execute=True):
        assert member_client.delete(f"/api/v1/assets/{body['id']}").status_code == 204
    keys = [o["Key"] for o in s3_storage.list_objects_v2(Bucket=BUCKET).get("Contents", [])]
    assert name not in keys

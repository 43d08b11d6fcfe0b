"""schemathesis over the whole served schema, against a running server (gunicorn on the test
database), authenticated with an owner's API key: for every operation, a bounded number of
generated requests that fit the schema and of requests that do not. Every answer must be no 5xx,
have a documented status code, media type and headers, and conform to the documented body; and the
first request of each operation that succeeded with the key is refused (401) when sent again without.

``FUZZ_EXAMPLES`` (default 20) is the number of examples per operation and mode; the generation is
derandomized, so a run is repeatable and a failure is shown as the curl that reproduces it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import hypothesis
import hypothesis.errors
import pytest
import requests
import schemathesis
from django.conf import settings as django_settings
from django.core.files import File
from hypothesis import HealthCheck, Phase, Verbosity
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from accounts.actors import Actor
from accounts.models import Role
from accounts.services import api_key_create
from jobs.models import Job, JobStatus
from providers.catalogue import catalogue_list
from tests.conftest import BASE_DIR, database_url, make_tenant, wait_for
from tests.jobs.test_apis import SUCCEEDED_PATH, move_to
from tests.media_fixtures import make_mp4, make_png, make_wav

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("schemathesis")]

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "20"))
SAMPLE_FILES = [BASE_DIR / "samples" / "face.png", BASE_DIR / "samples" / "speech.wav"]
# schemathesis' negative_data_rejection is left out: it counts an unknown query parameter, which DRF ignores
# as most APIs do, as data to refuse. What the API refuses is pinned by the unit tests (a bad `limit`...).
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
          response_headers_conformance]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def server(transactional_db, settings, tmp_path) -> Iterator[str]:
    """gunicorn (1 process, 4 threads) on this test's database and media folder; its base URL."""
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": database_url(), "MEDIA_ROOT": str(settings.MEDIA_ROOT),
           "DJANGO_SETTINGS_MODULE": "config.settings", "DEBUG": "0", "SECRET_KEY": "fuzz-" + "0123456789" * 5,
           "SECURE_SSL_REDIRECT": "0",  # plain http on loopback, as behind a TLS proxy
           "Q_CLUSTER_NAME": f"{django_settings.Q_CLUSTER['name']}-fuzz",
           # ~900 requests with one key in a minute or two: the rate limits are not what is fuzzed here
           "API_RATE_LIMIT_PER_KEY": "1000000", "API_RATE_LIMIT_PER_TENANT": "1000000",
           # a webhook endpoint on loopback, so that its operations reach past the 404s
           "WEBHOOK_ALLOW_HTTP": "1", "OUTBOUND_ALLOWED_NETWORKS": "127.0.0.0/8"}
    env.pop("PYTEST_XDIST_WORKER", None)
    log_path = tmp_path / "gunicorn.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-w", "1", "--threads", "4", "-b", f"127.0.0.1:{port}",
             "config.wsgi"], cwd=BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"

    def answers() -> bool:
        try:
            return httpx.get(f"{url}/api/v1/schema", timeout=5).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        wait_for(answers, timeout=30, message="gunicorn to answer",
                 on_timeout=lambda: Path(log_path).read_text(errors="replace")[-3000:])
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
        if django_settings.REDIS_URL:  # nothing this run enqueued stays behind for another
            from django_q.brokers import get_broker

            get_broker(f"{django_settings.Q_CLUSTER['name']}-fuzz").purge_queue()


# --- real objects mixed into the generated requests, so that the fuzzing reaches past the 404s ----------
def _seed(url: str, auth: dict[str, str], tmp_path: Path) -> dict[str, list[str]]:
    """Assets of each kind and jobs (queued, succeeded with a video, failed), made through the API; the
    ids by the path parameter (and asset kind) they fill."""
    files = {"image": make_png(tmp_path / "face.png"), "audio": make_wav(tmp_path / "speech.wav", seconds=2.0),
             "video": make_mp4(tmp_path / "ref.mp4", seconds=1.5)}
    assets = {}
    for kind, path in files.items():
        with open(path, "rb") as fh:
            answer = httpx.post(f"{url}/api/v1/assets", headers=auth, files={"file": fh}, timeout=30)
        assert answer.status_code == 201, answer.text
        assets[kind] = answer.json()["id"]
    spare = httpx.post(f"{url}/api/v1/api-keys", headers=auth, json={"name": "spare"}, timeout=30)
    assert spare.status_code == 201, spare.text
    endpoint = httpx.post(f"{url}/api/v1/webhook-endpoints", headers=auth, json={"url": "http://127.0.0.1:9/hook"},
                          timeout=30)
    assert endpoint.status_code == 201, endpoint.text
    jobs = []
    for _ in range(3):
        answer = httpx.post(f"{url}/api/v1/jobs", headers=auth, timeout=30, json={
            "model": "local/still", "input": {"image": assets["image"], "audio": assets["audio"]}})
        assert answer.status_code == 201, answer.text
        jobs.append(answer.json()["id"])
    done = Job.objects.get(pk=jobs[1])
    with open(make_mp4(tmp_path / "out.mp4", seconds=1.0), "rb") as fh:
        done.output.save("out.mp4", File(fh), save=False)
    move_to(jobs[1], *SUCCEEDED_PATH, output=done.output.name, output_duration_s=Decimal("1.000"))
    move_to(jobs[2], JobStatus.SUBMITTING, JobStatus.FAILED, error_code="provider_rejected", error_message="No.")
    return {"asset_id": list(assets.values()), "job_id": jobs, **{kind: [i] for kind, i in assets.items()},
            "model_id": [e.id for e in catalogue_list()], "key_id": [spare.json()["id"]],
            "endpoint_id": [endpoint.json()["id"]]}


def _real_assets(value: Any, schema: dict[str, Any], seeds: dict[str, list[str]]) -> Any:
    """``value`` with every asset id the model's input schema marks (``x-asset-kind``, or chosen by a
    sibling with ``x-asset-kind-by``) replaced by a real asset of that kind."""
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        return [_real_assets(item, schema["items"], seeds) for item in value]
    if not isinstance(value, dict):
        return value
    out = dict(value)
    for name, prop in (schema.get("properties") or {}).items():
        if name not in out:
            continue
        kind = prop.get("x-asset-kind")
        if "x-asset-kind-by" in prop:
            kind = prop["x-asset-kind-by"]["kinds"].get(out.get(prop["x-asset-kind-by"]["field"]), "image")
        out[name] = seeds[kind][0] if kind in seeds else _real_assets(out[name], prop, seeds)
    return out


def _with_seeds(strategy: st.SearchStrategy, seeds: dict[str, list[str]]) -> st.SearchStrategy:
    """Half the cases get real ids in their path, real assets in a job body's input, and a real file
    as an upload."""
    schemas = {e.id: e.input_schema for e in catalogue_list()}

    def seeded(pair: tuple[Any, int]) -> Any:
        case, pick = pair
        for name in list(case.path_parameters or {}):
            if name in seeds:
                case.path_parameters[name] = seeds[name][pick % len(seeds[name])]
        body = case.body
        if isinstance(body, dict) and body.get("model") in schemas and isinstance(body.get("input"), dict):
            body["input"] = _real_assets(body["input"], schemas[body["model"]], seeds)
        if isinstance(body, dict) and isinstance(body.get("file"), bytes | str):  # an upload: a real file
            body["file"] = SAMPLE_FILES[pick % len(SAMPLE_FILES)].read_bytes()
        return case

    return st.one_of(strategy, st.tuples(strategy, st.integers(0, 100)).map(seeded))


def _fuzz(operation, mode: GenerationMode, url: str, auth: dict[str, str], own_key: int,  # noqa: ANN001
          failures: dict[str, str], statuses: Counter, seeds: dict[str, list[str]], auth_checked: set[str]) -> int:
    """Run ``EXAMPLES`` generated cases of one operation; record each distinct failure once."""
    calls = 0

    @hypothesis.settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
                         phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck),
                         verbosity=Verbosity.quiet)
    @hypothesis.given(case=_with_seeds(operation.as_strategy(generation_mode=mode), seeds))
    def run(case) -> None:  # noqa: ANN001
        nonlocal calls
        if (case.path_parameters or {}).get("key_id") == own_key:
            return  # revoking the fuzzing key itself would end the run in 401s
        calls += 1
        response = case.call(base_url=url, headers=auth, timeout=30)
        statuses[(operation.label, response.status_code)] += 1
        if 200 <= response.status_code < 300 and operation.label not in auth_checked:
            auth_checked.add(operation.label)
            anonymous = response.request.copy()
            del anonymous.headers["Authorization"]
            with requests.Session() as session:
                refused = session.send(anonymous, timeout=30)
            if refused.status_code != 401:
                failures[f"{operation.label} answers without a key"] = f"{refused.status_code}: {refused.text[:300]}"
        try:
            case.validate_response(response, checks=CHECKS, headers=auth)
        except (Failure, FailureGroup) as exc:
            problems = exc.exceptions if isinstance(exc, FailureGroup) else [exc]
            for problem in problems:
                key = f"{operation.label} [{mode.value}] {problem.title}"
                failures.setdefault(key, f"{problem.message[:1500]}\n  {case.as_curl_command(auth)}")

    try:
        run()
    except hypothesis.errors.Unsatisfiable:  # nothing of this operation can be made wrong (no input to break)
        assert mode is GenerationMode.NEGATIVE, operation.label
    return calls


def test_schemathesis_finds_no_server_error_and_no_schema_violation(server, tmp_path):
    tenant = make_tenant("Fuzz")
    key, secret = api_key_create(tenant=tenant, actor=Actor.system(tenant), name="fuzz", role=Role.OWNER)
    auth = {"Authorization": f"Bearer {secret}"}
    seeds = _seed(server, auth, tmp_path)
    schema = schemathesis.openapi.from_url(f"{server}/api/v1/schema?format=json")
    failures: dict[str, str] = {}
    statuses: Counter = Counter()
    auth_checked: set[str] = set()
    calls = 0
    operations = [result.ok() for result in schema.get_all_operations()]
    # What takes things away (a budget of 0, a revoked key, a deleted asset) goes last, so it does not
    # turn the other operations' answers into refusals.
    operations.sort(key=lambda op: op.method.upper() in ("PUT", "DELETE") or op.path.endswith("/revoke"))
    assert len(operations) >= 21
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            calls += _fuzz(operation, mode, server, auth, key.id, failures, statuses, seeds, auth_checked)
    print("\n".join(f"{label} {status}: {n}" for (label, status), n in sorted(statuses.items())))
    assert calls > len(operations) * 2 * EXAMPLES // 2, calls  # the fuzzing did reach the server
    assert len(auth_checked) >= len(operations) - 2, sorted(auth_checked)  # most operations answered a 2xx
    report = "\n\n".join(f"{title}\n{detail}" for title, detail in sorted(failures.items()))
    assert not failures, f"{len(failures)} failures in {calls} calls:\n\n{report}"

"""The README's quick start works as pasted (issue 13, point 9): its shell block, run by bash with
only the key and the server's address filled in, against a live server and real worker processes,
with the demo tenant `demo_setup` makes and the sample files that ship in samples/."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from django.core.management import call_command

from accounts.management.commands.demo_setup import demo_api_key_secret
from providers.media import probe_video

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]


def quickstart_block() -> str:
    readme = (ROOT / "README.md").read_text()
    match = re.search(r"<!-- quickstart -->\s*```sh\n(.*?)```\s*<!-- /quickstart -->", readme, re.S)
    assert match, "the README has no quick-start block between its markers"
    return match.group(1)


def test_the_readme_quick_start_runs_as_pasted(platform, live_server, tmp_path):
    call_command("demo_setup", stdout=open("/dev/null", "w"))  # noqa: SIM115 - what make run does
    workers = platform()
    script = quickstart_block()
    lines = script.splitlines()
    assert lines[0].startswith("KEY=prl_live_demo...") and lines[1].startswith("BASE=http://127.0.0.1:8000/api/v1")
    lines[0] = f"KEY={demo_api_key_secret()}"
    lines[1] = f"BASE={live_server.url}/api/v1"
    shutil.copytree(ROOT / "samples", tmp_path / "samples")
    run = subprocess.run(["bash", "-euo", "pipefail", "-c", "\n".join(lines)], cwd=tmp_path, capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 0, (run.stdout, run.stderr, workers.output())
    assert re.search(r"job [0-9a-f-]+: succeeded", run.stdout), run.stdout
    assert "saved out.mp4" in run.stdout
    assert "'amount'" in run.stdout and "'currency': 'usd'" in run.stdout  # the usage total
    assert "Demo key" in run.stdout  # the key list: the demo key may read it
    info = probe_video(tmp_path / "out.mp4")
    assert info.has_audio and abs(float(info.duration_s) - 3.0) <= 0.1

"""Upload probe benchmark: wall time and peak memory of probing each pathological file.

Builds the files an adversarial trial used (a WAV of millions of empty chunks, MOVs of huge
frames, an AAC of millions of tiny packets) plus two ordinary ones, and probes each in a fresh
interpreter (``providers.media.sniff_and_probe``), reporting the outcome, the seconds taken and how
much the probe raised the process's peak RSS (``VmHWM``, reset before the probe: ``ru_maxrss``
would start from the parent's peak, which survives fork and exec).

    .venv/bin/python bench/upload_probes.py
    .venv/bin/python bench/upload_probes.py --source /tmp/parley-before   # another checkout's code
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.media_fixtures import (  # noqa: E402
    make_adts_of_tiny_packets,
    make_mjpeg_mov,
    make_mp4,
    make_wav,
    make_wav_of_empty_chunks,
)

FILES: dict[str, Callable[[Path], Path]] = {
    "wav, 12M empty chunks before data (96 MB)": lambda d: make_wav_of_empty_chunks(d / "a.wav", 12_000_000),
    "wav, 12M empty chunks after data (96 MB)": lambda d: make_wav_of_empty_chunks(
        d / "b.wav", 12_000_000, after_data=True
    ),
    "mov, 2 MJPEG frames of 12000x12000 (3.4 MB)": lambda d: make_mjpeg_mov(d / "c.mov", 12000, 12000),
    "mov, 12000x12000 declared as 320x240": lambda d: make_mjpeg_mov(
        d / "d.mov", 12000, 12000, declared=(320, 240)
    ),
    "aac, 2M packets of 11 bytes (22 MB)": lambda d: make_adts_of_tiny_packets(d / "e.aac", 2_000_000),
    "ordinary: wav, 60 s of 16 kHz mono": lambda d: make_wav(d / "f.wav", seconds=60),
    "ordinary: mp4, 10 s 640x480 H.264 + AAC": lambda d: make_mp4(d / "g.mp4", seconds=10, width=640, height=480),
}

PROBE = """
import json, sys, time
from django.conf import settings
settings.INSTALLED_APPS  # load the settings before measuring, as a web process has
from providers.media import MediaError, sniff_and_probe

def peak_kb():
    # VmHWM, reset first: ru_maxrss would start from the parent's peak (it survives fork and exec).
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))

with open("/proc/self/clear_refs", "w") as refs:
    refs.write("5")
before = peak_kb()
start = time.monotonic()
try:
    info = sniff_and_probe(sys.argv[1])
    outcome = f"accepted: {info.kind} {info.width}x{info.height} {info.duration_s} s"
except MediaError as error:
    outcome = f"refused: {error}"
seconds = time.monotonic() - start
grew = peak_kb() - before
print(json.dumps({"outcome": outcome, "seconds": seconds, "before_mb": before / 1024, "grew_mb": grew / 1024}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=ROOT, help="checkout whose providers/media.py is measured")
    parser.add_argument("--timeout", type=float, default=300, help="seconds before a probe is given up")
    args = parser.parse_args()
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "PYTHONPATH": str(args.source)}
    print("| file | outcome | seconds | RSS before | probe added to peak RSS |")
    print("|---|---|---|---|---|")
    with tempfile.TemporaryDirectory(prefix="parley-probes-") as tmp:
        for label, build in FILES.items():
            path = build(Path(tmp))
            try:
                done = subprocess.run(
                    [sys.executable, "-c", PROBE, str(path)], cwd=args.source, env=env,
                    capture_output=True, text=True, timeout=args.timeout, check=True,
                )
            except subprocess.TimeoutExpired:
                print(f"| {label} | still probing after {args.timeout:g} s | | | |", flush=True)
                continue
            finally:
                path.unlink()
            row = json.loads(done.stdout.strip().splitlines()[-1])
            print(f"| {label} | {row['outcome'][:90]} | {row['seconds']:.2f} | {row['before_mb']:.0f} MB "
                  f"| {row['grew_mb']:.0f} MB |", flush=True)


if __name__ == "__main__":
    main()

"""The ``parley`` command: run a model to an MP4 with a progress bar, list and read jobs, the models
and the month's usage. The key comes from ``PARLEY_API_KEY``, the server from ``PARLEY_BASE_URL``.

Exit codes: 0 done; 1 the API refused or failed (field messages printed); 2 a bad command line;
3 the job ended failed or canceled; 4 the wait timed out; 130 interrupted (the job goes on)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from .client import Client
from .errors import AuthenticationError, NotFoundError, ParleyError, WaitTimeout
from .files import File
from .progress import Progress
from .types import Job

EXIT_ERROR, EXIT_USAGE, EXIT_JOB_FAILED, EXIT_TIMEOUT, EXIT_INTERRUPTED = 1, 2, 3, 4, 130


class UsageError(Exception):
    """A command line that cannot be run (exit 2)."""


def parse_assignments(items: Sequence[str], schema: dict[str, Any] | None = None) -> dict[str, Any]:
    """``name=@path`` a file to upload, ``name:=json`` a JSON value, ``name=text`` a string (made an
    integer, number or boolean when the model's input schema says that field is one)."""
    properties = (schema or {}).get("properties") or {}
    out: dict[str, Any] = {}
    for item in items:
        if ":=" in item and ("=" not in item or item.index(":=") < item.index("=")):
            name, raw = item.split(":=", 1)
            try:
                out[name] = json.loads(raw)
            except ValueError as exc:
                raise UsageError(f"{name}:= needs JSON ({exc})") from None
        elif "=" in item:
            name, raw = item.split("=", 1)
            out[name] = File(raw[1:]) if raw.startswith("@") else _coerce(raw, properties.get(name) or {})
        else:
            raise UsageError(f"expected name=value, name=@file or name:=json, got {item!r}")
        if not name:
            raise UsageError(f"an input has no name: {item!r}")
    return out


def _coerce(raw: str, prop: dict[str, Any]) -> Any:
    kinds = prop.get("type")
    kinds = kinds if isinstance(kinds, list) else [kinds]
    try:
        if "integer" in kinds and raw.lstrip("-").isdigit():
            return int(raw)
        if "number" in kinds:
            return float(raw)
    except ValueError:
        return raw
    if "boolean" in kinds and raw.lower() in ("true", "false"):
        return raw.lower() == "true"
    return raw


def _print_json(value: Any) -> None:
    print(json.dumps(value, indent=2, default=str))


def _job_line(job: Job) -> str:
    cost = job.charge.amount if job.charge else (job.quote.amount if job.quote else "")
    return f"{job.id}  {job.status:<10}  {job.model:<40}  {cost}  {job.created_at:%Y-%m-%d %H:%M}"


def cmd_run(client: Client, args: argparse.Namespace) -> int:
    schema = None
    try:
        schema = client.models.get(args.model).input_schema
    except NotFoundError:
        pass  # the job's creation answers the error naming the model
    inputs = parse_assignments(args.inputs, schema)
    progress = Progress(enabled=not args.quiet)
    job = client.jobs.create(model=args.model, input=inputs, cancel_after=args.cancel_after,
                             on_update=progress.job)
    try:
        if not args.no_wait:
            job = client.jobs.wait(job, timeout=args.timeout, on_update=progress.job)
    except WaitTimeout as exc:
        progress.done()
        print(f"parley: {exc} It goes on: parley jobs get {job.id}", file=sys.stderr)
        return EXIT_TIMEOUT
    except KeyboardInterrupt:
        progress.done()
        print(f"parley: stopped following job {job.id}, which goes on (parley jobs cancel {job.id} stops it)",
              file=sys.stderr)
        return EXIT_INTERRUPTED
    if job.succeeded and args.out:
        client.jobs.download(job, args.out, on_progress=progress.download)
    progress.done()
    if args.json:
        _print_json(job.raw)
    elif job.succeeded:
        o = job.output
        size = f", {o.width}x{o.height}, {o.duration_s:.2f} s" if o and o.duration_s is not None else ""
        cost = f", {job.charge.amount} {job.charge.currency}" if job.charge else ""
        print(f"{job.id} succeeded{size}{cost}" + (f" -> {args.out}" if args.out else ""))
    else:
        print(f"{job.id} {job.status}")
    if job.is_final and not job.succeeded:
        reason = f": {job.error.message}" if job.error else ""
        print(f"parley: job {job.id} {job.status}{reason}", file=sys.stderr)
        return EXIT_JOB_FAILED
    return 0


def cmd_jobs_list(client: Client, args: argparse.Namespace) -> int:
    page = client.jobs.list(status=args.status, model=args.model, limit=args.limit, cursor=args.cursor)
    if args.json:
        _print_json({"results": [j.raw for j in page], "next_cursor": page.next_cursor})
        return 0
    for job in page:
        print(_job_line(job))
    if page.next_cursor:
        print(f"(more: --cursor {page.next_cursor})", file=sys.stderr)
    return 0


def cmd_jobs_get(client: Client, args: argparse.Namespace) -> int:
    _print_json(client.jobs.get(args.id).raw)
    return 0


def cmd_jobs_cancel(client: Client, args: argparse.Namespace) -> int:
    job = client.jobs.cancel(args.id)
    print(f"{job.id} {job.status}")
    return 0


def cmd_jobs_download(client: Client, args: argparse.Namespace) -> int:
    progress = Progress(enabled=not args.quiet)
    client.jobs.download(args.id, args.out, on_progress=progress.download)
    progress.done()
    print(args.out)
    return 0


def cmd_models(client: Client, args: argparse.Namespace) -> int:
    models = client.models.list()
    if args.json:
        _print_json([m.raw for m in models])
        return 0
    for m in models:
        required = ", ".join(m.input_schema.get("required") or [])
        print(f"{m.id:<40} {m.provider:<10} {'emulated' if m.emulated else 'live':<9} requires: {required}")
    return 0


def cmd_usage(client: Client, args: argparse.Namespace) -> int:
    usage = client.usage(period=args.period, group_by=args.group_by)
    if args.json:
        _print_json(usage.raw)
        return 0
    mode = "live" if usage.livemode else "test"
    print(f"{usage.period} by {usage.group_by} ({mode})")
    for g in usage.groups:
        if g.jobs or g.amount:
            print(f"  {g.label:<40} {g.jobs:>5} jobs  {g.amount:>10} {usage.total.currency}")
    print(f"  {'total':<40} {'':>10}  {usage.total.amount:>10} {usage.total.currency}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="parley", description="Parley's API from the command line.")
    parser.add_argument("--api-key", help="default: $PARLEY_API_KEY")
    parser.add_argument("--base-url", help="default: $PARLEY_BASE_URL, else http://127.0.0.1:8000")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="create a job, follow it, download the video")
    run.add_argument("model")
    run.add_argument("inputs", nargs="*", metavar="NAME=VALUE",
                     help="name=text, name=@file (uploaded), name:=json")
    run.add_argument("--out", "-o", type=Path, help="write the MP4 here")
    run.add_argument("--cancel-after", help="a deadline such as 10m or 600")
    run.add_argument("--timeout", type=float, help="stop waiting after this many seconds (exit 4)")
    run.add_argument("--no-wait", action="store_true", help="create the job and return")
    run.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    run.add_argument("--json", action="store_true", help="print the job as JSON")
    run.set_defaults(func=cmd_run)

    jobs = sub.add_parser("jobs", help="list, read, cancel, download jobs").add_subparsers(dest="action",
                                                                                        required=True)
    listing = jobs.add_parser("list")
    listing.add_argument("--status")
    listing.add_argument("--model")
    listing.add_argument("--limit", type=int)
    listing.add_argument("--cursor")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(func=cmd_jobs_list)
    get = jobs.add_parser("get")
    get.add_argument("id")
    get.set_defaults(func=cmd_jobs_get)
    cancel = jobs.add_parser("cancel")
    cancel.add_argument("id")
    cancel.set_defaults(func=cmd_jobs_cancel)
    download = jobs.add_parser("download")
    download.add_argument("id")
    download.add_argument("--out", "-o", type=Path, required=True)
    download.add_argument("--quiet", "-q", action="store_true")
    download.set_defaults(func=cmd_jobs_download)

    models = sub.add_parser("models", help="the model catalogue")
    models.add_argument("--json", action="store_true")
    models.set_defaults(func=cmd_models)

    usage = sub.add_parser("usage", help="a month's spend")
    usage.add_argument("--period", help="YYYY-MM (UTC), this month by default")
    usage.add_argument("--group-by", choices=["day", "model", "api_key"])
    usage.add_argument("--json", action="store_true")
    usage.set_defaults(func=cmd_usage)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        command: Callable[[Client, argparse.Namespace], int] = args.func
        with Client(api_key=args.api_key, base_url=args.base_url) as client:
            return command(client, args)
    except UsageError as exc:
        print(f"parley: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except ParleyError as exc:
        label = f"{exc.status} {exc.code}" if exc.status else (exc.code or "error")
        print(f"parley: {label}: {exc}", file=sys.stderr)
        if isinstance(exc, AuthenticationError) and not (args.api_key or os.environ.get("PARLEY_API_KEY")):
            print("parley: set PARLEY_API_KEY (or pass --api-key)", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())

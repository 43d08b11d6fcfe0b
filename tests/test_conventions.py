"""The house rules that a reviewer should not have to remember (docs/conventions.md), checked on the source.

- Views, API views and templates never query a model directly (``.objects``): they go through a
  tenant-scoped selector or service. The one exception is documented and allow-listed here.
- Only ``jobs/transitions.py`` writes ``Job.status``.
- Provider clients never import Django (no ORM, no settings module: they get a ClientConfig).
- The apps depend on each other one way: their import graph has no cycle.
- Billing never touches float.
"""

from __future__ import annotations

import ast
import io
import re
import subprocess
import sys
import tokenize
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SKIP_DIRS = {".venv", "venv", "node_modules", "migrations", "var", "staticfiles", "static", ".git", "__pycache__",
             "tests", ".mypy_cache", ".pytest_cache", ".ruff_cache", ".hypothesis"}

# (file, the exact stripped source line) of each allowed `.objects` in a view module.
OBJECTS_ALLOWED = {
    # The signed URL is the authorization, made for this one asset (no tenant in the request).
    ("jobs/file_views.py", "asset = Asset.objects.filter(pk=asset_id).first()"),
}
VIEW_MODULES = {"apis.py", "views.py", "file_views.py", "key_views.py", "team_views.py"}
STATUS_WRITER = "jobs/transitions.py"


def project_files(pattern: str) -> Iterator[Path]:
    for path in sorted(ROOT.rglob(pattern)):
        rel = path.relative_to(ROOT)
        if not SKIP_DIRS.intersection(rel.parts[:-1]):
            yield path


def rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def code_lines(path: Path) -> list[tuple[int, str]]:
    """(line number, line) of a Python file with comments and docstrings blanked out."""
    source = path.read_text()
    keep = source.splitlines()
    blank: set[int] = set()
    tree = ast.parse(source)
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr) \
                and isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str):
            blank.update(range(body[0].lineno, body[0].end_lineno + 1))
    out = []
    comments = {t.start[0]: t.start[1] for t in tokenize.generate_tokens(io.StringIO(source).readline)
                if t.type == tokenize.COMMENT}
    for number, line in enumerate(keep, start=1):
        if number in blank:
            continue
        if number in comments:
            line = line[: comments[number]]
        out.append((number, line))
    return out


# --- .objects in views and templates --------------------------------------------------------------
def view_files() -> list[Path]:
    return [p for p in project_files("*.py") if p.name in VIEW_MODULES]


def test_the_view_modules_are_found():
    names = {rel(p) for p in view_files()}
    assert {"jobs/apis.py", "accounts/apis.py", "jobs/file_views.py"} <= names, names


def objects_in_views() -> list[tuple[str, str]]:
    found = []
    for path in view_files():
        for number, line in code_lines(path):
            if ".objects" in line:
                found.append((rel(path), line.strip(), number))
    return found


def test_views_do_not_query_models_directly():
    offending = [f"{path}:{number}: {line}" for path, line, number in objects_in_views()
                 if (path, line) not in OBJECTS_ALLOWED]
    assert not offending, "use a tenant-scoped selector or service instead:\n" + "\n".join(offending)


def test_the_allow_list_is_not_stale():
    """Each allowed line still exists, so the allow-list cannot outlive its reason."""
    present = {(path, line) for path, line, _ in objects_in_views()}
    assert OBJECTS_ALLOWED <= present, OBJECTS_ALLOWED - present


def test_templates_do_not_query_models():
    offending = []
    for path in project_files("*.html"):
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            if ".objects" in line:
                offending.append(f"{rel(path)}:{number}: {line.strip()}")
    assert not offending, "prefetch in the selector instead:\n" + "\n".join(offending)


# --- only jobs/transitions.py writes Job.status ----------------------------------------------------
_JOBBY = re.compile(r"(\bJob\b|\bjobs?\b|\bjobs?_\w*|_jobs?\b)")


def _receiver(node: ast.Call, source: str) -> str:
    func = node.func
    assert isinstance(func, ast.Attribute)
    return ast.get_source_segment(source, func.value) or ""


def _has_status_key(node: ast.expr | None) -> bool:
    if isinstance(node, ast.Dict):
        return any(isinstance(k, ast.Constant) and k.value == "status" for k in node.keys)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "dict":
        return any(k.arg == "status" for k in node.keywords)
    return False


def _status_dicts(tree: ast.AST) -> set[str]:
    """Names bound anywhere in the module to a dict literal holding a "status" key."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and _has_status_key(node.value):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.AnnAssign) and _has_status_key(node.value) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    return names


def _keywords_set_status(node: ast.Call, status_dicts: set[str]) -> bool:
    for keyword in node.keywords:
        if keyword.arg == "status":
            return True
        if keyword.arg is None and (_has_status_key(keyword.value) or (
                isinstance(keyword.value, ast.Name) and keyword.value.id in status_dicts)):
            return True
    return False


def status_writes(source: str) -> list[tuple[int, str]]:
    """Places in ``source`` that write a job's status other than through job_transition."""
    tree = ast.parse(source)
    status_dicts = _status_dicts(tree)
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            name = node.func.attr
            receiver = _receiver(node, source)
            if name == "update" and _keywords_set_status(node, status_dicts) and _JOBBY.search(receiver):
                found.append((node.lineno, f"{receiver}.update(status=...)"))
            if name == "bulk_update" and _JOBBY.search(receiver):
                fields = node.args[1] if len(node.args) > 1 else next(
                    (k.value for k in node.keywords if k.arg == "fields"), None)
                if fields is not None and "status" in (ast.get_source_segment(source, fields) or ""):
                    found.append((node.lineno, f"{receiver}.bulk_update(..., status)"))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "setattr":
            if len(node.args) >= 2 and isinstance(node.args[1], ast.Constant) and node.args[1].value == "status":
                target = ast.get_source_segment(source, node.args[0]) or ""
                if _JOBBY.search(target):
                    found.append((node.lineno, f"setattr({target}, 'status', ...)"))
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = list(node.targets)
        elif isinstance(node, ast.AugAssign | ast.AnnAssign):
            targets = [node.target]
        for target in targets:
            for sub in ast.walk(target):
                if isinstance(sub, ast.Attribute) and sub.attr == "status":
                    owner = ast.get_source_segment(source, sub.value) or ""
                    if _JOBBY.search(owner):
                        found.append((node.lineno, f"{owner}.status = ..."))
    return found


@pytest.mark.parametrize(
    ("snippet", "caught"),
    [
        ("Job.objects.filter(pk=1).update(status='failed')", True),
        ("Job.objects.filter(pk=1).update(**{'status': 'failed'})", True),
        ("values = {'status': 'failed', 'x': 1}\nJob.objects.filter(pk=1).update(**values)", True),
        ("values: dict = dict(status='failed')\nJob.objects.filter(pk=1).update(**values)", True),
        ("def f(**fields):\n    Job.objects.filter(pk=1).update(**fields)", False),
        ("jobs.update(status=JobStatus.CANCELED, completed_at=now)", True),
        ("job.status = 'succeeded'", True),
        ("self.job.status = JobStatus.FAILED", True),
        ("job.status: str = 'queued'", True),
        ("setattr(job, 'status', 'failed')", True),
        ("Job.objects.bulk_update(jobs, ['status'])", True),
        ("Job.objects.filter(pk=1).update(provider_status='x', next_attempt_at=None)", False),
        ("WebhookDelivery.objects.filter(pk=1).update(status='delivered')", False),
        ("delivery.status = 'sent'", False),
        ("if job.status == 'queued': pass", False),
        ("Job.objects.filter(status='queued').update(next_attempt_at=None)", False),
    ],
)
def test_the_status_write_detector(snippet, caught):
    assert bool(status_writes(snippet)) is caught


def test_only_transitions_writes_job_status():
    offending = []
    for path in project_files("*.py"):
        if rel(path) == STATUS_WRITER:
            continue
        for number, what in status_writes(path.read_text()):
            offending.append(f"{rel(path)}:{number}: {what}")
    assert not offending, f"only {STATUS_WRITER}::job_transition() writes Job.status:\n" + "\n".join(offending)


def test_transitions_is_the_writer():
    assert status_writes((ROOT / STATUS_WRITER).read_text()), "the detector no longer sees job_transition's write"


# --- provider clients are Django-free --------------------------------------------------------------
CLIENT_FILES = sorted((ROOT / "providers" / "clients").glob("*.py"))


def test_there_are_provider_clients():
    assert {"base.py", "wavespeed.py", "fal.py", "dashscope.py"} <= {p.name for p in CLIENT_FILES}


DJANGO_LIBRARIES = ("django", "rest_framework", "drf_spectacular", "django_filters", "django_q", "allauth")


def _imports_django(module: str) -> bool:
    return module.split(".")[0] in DJANGO_LIBRARIES


@pytest.mark.parametrize("path", CLIENT_FILES, ids=[p.name for p in CLIENT_FILES])
def test_provider_clients_do_not_import_django(path):
    """Neither directly nor through a module of ours (relative imports included): each project module
    a client reaches, however deep, imports no Django library and no Django app."""
    reached, queue, offending = {rel(path)}, [path], []
    while queue:
        current = queue.pop()
        for line, module in imported_modules(current):
            target = module_file(module)
            if _imports_django(module) or module.split(".")[0] in ("jobs", "accounts", "billing", "config"):
                offending.append(f"{rel(current)}:{line} imports {module}")
            elif target is not None and rel(target) not in reached:
                reached.add(rel(target))
                queue.append(target)
    assert not offending, (f"{rel(path)} reaches Django: a provider client gets its settings as a ClientConfig:\n"
                           + "\n".join(offending))


def test_provider_clients_load_without_django():
    """Transitively too: importing every client pulls in no Django module."""
    modules = [f"providers.clients.{p.stem}" for p in CLIENT_FILES if p.stem != "__init__"]
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "loaded = sorted(m for m in sys.modules if m == 'django' or m.startswith('django.'))\n"
        "print(','.join(loaded))\n"
    )
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "", f"provider clients load Django modules: {result.stdout.strip()}"


# --- no float in billing ---------------------------------------------------------------------------
BILLING_FILES = [p for p in project_files("*.py") if rel(p).startswith("billing/")]


def float_calls(source: str) -> list[int]:
    tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    return [tok.start[0] for tok, nxt in zip(tokens, tokens[1:], strict=False)
            if tok.type == tokenize.NAME and tok.string == "float" and nxt.string == "("]


def test_the_float_detector():
    assert float_calls("x = float(y)\n") == [1]
    assert float_calls("x = float (y)\n") == [1]
    assert float_calls("# never float(\nx = 'float('\n") == []


def test_billing_never_uses_float():
    assert BILLING_FILES, "no billing files found"
    offending = [f"{rel(p)}:{n}" for p in BILLING_FILES for n in float_calls(p.read_text())]
    assert not offending, "money is Decimal, never float:\n" + "\n".join(offending)


# --- the apps depend on each other one way ---------------------------------------------------------
APPS = ("accounts", "billing", "config", "console", "idempotency", "jobs", "ops", "providers", "webhooks")
# The root URLconf and the WSGI entry wire every app together: they sit above the graph (they may
# import any app, no app may import them). The rest of ``config`` (settings, errors, pagination,
# the exception handler) is the kernel every app builds on, so it is a node like the apps.
COMPOSITION_ROOT = {"config/urls.py", "config/api_urls.py", "config/wsgi.py", "config/asgi.py"}
# Calls whose first argument names a module (or a function in one) that gets imported at run time:
# a dependency as real as an import statement (tasks are enqueued by dotted path).
LOADERS = {"include", "import_module", "import_string", "__import__", "async_task", "enqueue_on_commit"}


def module_of(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def module_file(module: str) -> Path | None:
    """The project file of a dotted module name, or None (a library, or a name inside a module)."""
    base = ROOT.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def imported_modules(path: Path, source: str | None = None) -> list[tuple[int, str]]:
    """(line, absolute module) of every import in a file, at any depth (function bodies too),
    relative imports resolved, and every string a loader call gets (``include("jobs.api_urls")``)."""
    tree = ast.parse(source if source is not None else path.read_text())
    module = module_of(path) if path.is_relative_to(ROOT) else path.stem
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1] if package else []
                origin = ".".join([*base, *([node.module] if node.module else [])])
            else:
                origin = node.module or ""
            found.append((node.lineno, origin))
            # ``from . import apis`` imports the module ``<package>.apis``.
            found += [(node.lineno, f"{origin}.{alias.name}") for alias in node.names
                      if module_file(f"{origin}.{alias.name}") is not None]
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant) \
                and isinstance(node.args[0].value, str):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
            if name in LOADERS:
                found.append((node.lineno, node.args[0].value))
    return found


def app_of(module: str) -> str | None:
    top = module.split(".")[0]
    return top if top in APPS else None


def app_edges(files: Iterable[tuple[str, str]]) -> dict[tuple[str, str], list[str]]:
    """(importing app, imported app) -> the places ("path:line module") that make the edge, from
    (relative path, source) pairs."""
    edges: dict[tuple[str, str], list[str]] = {}
    for path, source in files:
        if path in COMPOSITION_ROOT:
            continue
        importer = path.split("/")[0]
        for line, module in imported_modules(ROOT / path, source):
            imported = app_of(module)
            if imported is not None and imported != importer:
                edges.setdefault((importer, imported), []).append(f"{path}:{line} {module}")
    return edges


def app_cycles(edges: Mapping[tuple[str, str], list[str]]) -> list[list[str]]:
    """One cycle (as a closed path of apps, ``[a, b, a]``) for each group of apps that depend on each
    other (Tarjan's strongly connected components, then a path around each)."""
    graph: dict[str, set[str]] = {}
    for importer, imported in edges:
        graph.setdefault(importer, set()).add(imported)
        graph.setdefault(imported, set())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    components: list[set[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                component.add(member)
                if member == node:
                    break
            components.append(component)

    for node in sorted(graph):
        if node not in index:
            visit(node)
    cycles = []
    for component in components:
        if len(component) < 2:
            continue
        start = min(component)
        path, seen = [start], {start}
        while True:  # walk inside the component until a node repeats: that closes a cycle
            nxt = min(n for n in graph[path[-1]] if n in component)
            if nxt in seen:
                cycles.append(path[path.index(nxt):] + [nxt])
                break
            path.append(nxt)
            seen.add(nxt)
    return cycles


def app_source_files() -> list[tuple[str, str]]:
    skip = SKIP_DIRS - {"migrations"}  # migrations import code too
    return [(rel(p), p.read_text()) for app in APPS for p in sorted((ROOT / app).rglob("*.py"))
            if not skip.intersection(p.relative_to(ROOT).parts[:-1])]


def test_the_import_graph_reader():
    files = [
        ("billing/services.py", "from jobs.models import Job\n"),
        ("jobs/pipeline.py", "def f():\n    from billing import services\n"),
        ("jobs/apis.py", "from .models import Job\nfrom accounts.apis import TenantApi\n"),
        ("accounts/views.py", "include('providers.api_urls')\n"),
        ("providers/checks.py", "enqueue_on_commit('accounts.tasks.x', 1)\n"),
        ("config/urls.py", "from jobs import views\n"),  # the composition root: not an edge
    ]
    edges = app_edges(files)
    assert set(edges) == {("billing", "jobs"), ("jobs", "billing"), ("jobs", "accounts"),
                          ("accounts", "providers"), ("providers", "accounts")}
    assert edges[("jobs", "billing")] == ["jobs/pipeline.py:2 billing", "jobs/pipeline.py:2 billing.services"]
    assert sorted(app_cycles(edges)) == [["accounts", "providers", "accounts"], ["billing", "jobs", "billing"]]
    assert app_cycles({("a", "b"): [], ("b", "c"): [], ("c", "a"): [], ("c", "d"): []}) == [["a", "b", "c", "a"]]
    assert app_cycles({("a", "b"): [], ("b", "c"): [], ("a", "c"): []}) == []


def test_relative_imports_are_resolved():
    path = ROOT / "providers" / "clients" / "local.py"
    found = {module for _, module in imported_modules(path, "from ..media import x\nfrom .base import y\n"
                                                            "from . import base\n")}
    assert {"providers.media", "providers.clients.base"} <= found


def test_the_apps_import_each_other_one_way():
    edges = app_edges(app_source_files())
    assert ("jobs", "billing") in edges, "the reader no longer sees jobs calling billing"
    cycles = app_cycles(edges)
    report = []
    for cycle in cycles:
        report.append(" -> ".join(cycle) + ":")
        for importer, imported in zip(cycle, cycle[1:], strict=False):
            report += [f"    {place}" for place in edges[(importer, imported)]]
    assert not cycles, "apps that import each other (pick one direction):\n" + "\n".join(report)


def test_no_app_imports_the_composition_root():
    roots = {module_of(ROOT / path) for path in COMPOSITION_ROOT}
    offending = [f"{path}:{line} {module}" for path, source in app_source_files() if path not in COMPOSITION_ROOT
                 for line, module in imported_modules(ROOT / path, source) if module in roots]
    assert not offending, "only Django loads the root URLconf and the WSGI entry:\n" + "\n".join(offending)

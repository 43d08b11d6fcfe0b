"""Dashboard pages of the jobs app: jobs (list, new, detail with live updates, output, cancel) and
assets (list, upload, delete, file). Every read and write goes through selectors and services with
the request's tenant; another tenant's object is a 404."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.models import ApiKeyMode, Role, role_allows
from accounts.selectors import api_key_list
from accounts.views import dashboard_render, forbidden, tenant_required
from config.errors import ParleyError, RoleForbidden
from providers.catalogue import ModelEntry, UnknownModel, catalogue_get, catalogue_list, provider_display_name
from providers.registry import provider_is_emulated

from . import selectors, services
from .file_responses import stored_file_response
from .filters import JobListFilters
from .forms import AssetUploadForm, JobInputForm, form_initial
from .input_labels import input_label
from .input_paths import PathPart, format_path
from .job_table import job_table_page
from .models import Asset, Job, JobStatus
from .overview import team_overview

PAGE_SIZE = 25


def _page(request: HttpRequest, items: Any) -> Any:
    return Paginator(items, PAGE_SIZE).get_page(request.GET.get("page"))


def _job_or_404(request: HttpRequest, job_id: uuid.UUID) -> Job:
    try:
        return selectors.job_get(tenant=request.tenant, job_id=job_id)
    except Job.DoesNotExist:
        raise Http404("No such job.") from None


def _asset_or_404(request: HttpRequest, asset_id: uuid.UUID) -> Asset:
    try:
        return selectors.asset_get(tenant=request.tenant, asset_id=asset_id)
    except Asset.DoesNotExist:
        raise Http404("No such asset.") from None


def _entry_or_none(model_id: str | None) -> ModelEntry | None:
    if not model_id:
        return None
    try:
        return catalogue_get(model_id=model_id)
    except UnknownModel:
        return None


def _emulated(provider: str) -> bool:
    try:
        return provider_is_emulated(provider, livemode=True)
    except KeyError:
        return False


def model_groups() -> list[dict[str, Any]]:
    """The catalogue grouped by provider, each saying whether it runs on the emulator."""
    groups: dict[str, dict[str, Any]] = {}
    for entry in catalogue_list():
        group = groups.setdefault(entry.provider, {
            "provider": entry.provider,
            "label": entry.provider_display_name,
            "emulated": _emulated(entry.provider),
            "entries": [],
        })
        group["entries"].append(entry)
    return list(groups.values())


# --- the overview -------------------------------------------------------------------------------


@require_GET
@tenant_required
def overview(request: HttpRequest) -> HttpResponse:
    """``/overview/``, the landing page: spend against the limit, running jobs, recent failures and
    the next step for a new team. Refreshes its running jobs (htmx) while any run."""
    data = team_overview(tenant=request.tenant, livemode=request.actor.livemode)
    context = {"nav": "overview", "overview": data, "can_create": role_allows(request.actor.role, Role.MEMBER)}
    if request.htmx:
        return render(request, "jobs/_overview_running.html", context)
    return dashboard_render(request, "jobs/overview.html", context)


# --- jobs ---------------------------------------------------------------------------------------


@require_GET
@tenant_required
def job_list(request: HttpRequest) -> HttpResponse:
    """``/jobs/``: the dashboard mode's jobs, newest first, 25 a page by keyset (``older``/``newer``
    cursors), filtered by status, model, API key, creation days and a job id (or its start)."""
    filters = JobListFilters(request.GET)
    query = filters.query()
    page = job_table_page(tenant=request.tenant, livemode=request.actor.livemode, query=query,
                          tz=timezone.get_current_timezone(), older=request.GET.get("older"),
                          newer=request.GET.get("newer"))
    context = {
        "nav": "jobs",
        "page": page,
        "any_active": page.any_active,
        "query": query,
        "filtered": filters.active,
        "statuses": JobStatus.choices,
        "model_ids": [entry.id for entry in catalogue_list()],
        "api_keys": api_key_list(tenant=request.tenant).select_related(None)
        .filter(mode=ApiKeyMode.LIVE if request.actor.livemode else ApiKeyMode.TEST).only("id", "name", "prefix"),
    }
    if request.htmx:  # the table refreshing itself while jobs run
        return render(request, "jobs/_job_table.html", context)
    return dashboard_render(request, "jobs/job_list.html", context)


def _walk(value: Any, parts: list[PathPart]) -> Iterator[tuple[list[PathPart], Any]]:
    """(path parts, value) of each leaf of the input; a list of plain values is one leaf."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _walk(item, [*parts, str(key)])
    elif isinstance(value, list) and any(isinstance(item, dict | list) for item in value):
        for index, item in enumerate(value):
            yield from _walk(item, [*parts, index])
    else:
        yield parts, value


def _input_rows(request: HttpRequest, job: Job, entry: ModelEntry | None) -> list[dict[str, Any]]:
    """The job's input as (label, value) rows; asset ids become the assets, when they still exist."""
    leaves = list(_walk(job.input, []))
    ids = set()
    for _, value in leaves:
        if isinstance(value, str):
            try:
                ids.add(uuid.UUID(value))
            except ValueError:
                pass
    assets = {str(a.id): a for a in selectors.asset_list(tenant=request.tenant).filter(pk__in=ids)} if ids else {}
    rows = []
    for parts, value in leaves:
        rows.append({
            "label": input_label(entry, parts), "path": format_path(parts, root=""), "value": value,
            "asset": assets.get(value) if isinstance(value, str) else None,
        })
    return rows


def _live_context(job: Job) -> dict[str, Any]:
    return {
        "job": job,
        "events": list(job.events.all()),
        "charge": getattr(job, "usage_record", None),
        "can_cancel": job.can_move_to(JobStatus.CANCELED),
    }


@require_GET
@tenant_required
def job_detail(request: HttpRequest, job_id: uuid.UUID) -> HttpResponse:
    """``/jobs/<id>/``; with ``HX-Request`` only the live part (status, output, timeline), which
    polls itself every 2 s until the job is final."""
    job = _job_or_404(request, job_id)
    if request.htmx:
        return render(request, "jobs/_job_live.html", _live_context(job))
    entry = _entry_or_none(job.model_id)
    return dashboard_render(request, "jobs/job_detail.html", {
        "nav": "jobs",
        "entry": entry,
        "provider_name": provider_display_name(job.provider),
        "input_rows": _input_rows(request, job, entry),
        "can_create": role_allows(request.actor.role, Role.MEMBER) and entry is not None,
        **_live_context(job),
    })


@require_GET
@tenant_required
def job_output(request: HttpRequest, job_id: uuid.UUID) -> HttpResponse:
    """The delivered video (``?download=1`` to save it)."""
    job = _job_or_404(request, job_id)
    if not job.has_output:
        raise Http404("This job has no video yet.")
    return stored_file_response(request, job.output, content_type="video/mp4", filename=f"{job.id}.mp4",
                                as_attachment=bool(request.GET.get("download")))


@require_POST
@tenant_required
def job_cancel(request: HttpRequest, job_id: uuid.UUID) -> HttpResponse:
    """Cancel (POST); a job already canceled stays so, one past cancelling gets the reason."""
    if _job_or_404(request, job_id).status == JobStatus.CANCELED:
        messages.info(request, "This job was already canceled.")
        return redirect("jobs:detail", job_id=job_id)
    try:
        services.job_cancel(tenant=request.tenant, actor=request.actor, job_id=str(job_id))
    except Job.DoesNotExist:
        raise Http404("No such job.") from None
    except RoleForbidden as exc:
        return forbidden(request, exc.message)
    except ParleyError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "The job was canceled; it will not be charged.")
    return redirect("jobs:detail", job_id=job_id)


def _new_job_context(request: HttpRequest, entry: ModelEntry | None, form: JobInputForm | None) -> dict[str, Any]:
    return {
        "nav": "jobs",
        "groups": model_groups(),
        "entry": entry,
        "entry_emulated": entry is not None and _emulated(entry.provider),
        "form": form,
        "can_create": role_allows(request.actor.role, Role.MEMBER),
    }


@require_http_methods(["GET", "POST"])
@tenant_required
def job_new(request: HttpRequest) -> HttpResponse:
    """``/jobs/new/?model=<id>``: pick a model, fill in the form generated from its input schema.
    New files are stored as assets first, then the job is created; any refusal is shown beside
    the field it concerns."""
    model_id = request.POST.get("model") or request.GET.get("model")
    entry = _entry_or_none(model_id)
    if entry is None:
        if model_id:
            messages.error(request, f"There is no model {model_id!r}; pick one below.")
        return dashboard_render(request, "jobs/job_new.html", _new_job_context(request, None, None),
                                status=400 if request.method == "POST" else 200)
    if request.method == "GET":
        source = _copied_job(request)
        initial = form_initial(source.input) if source is not None and source.model_id == entry.id else None
        form = JobInputForm(entry=entry, tenant=request.tenant, initial=initial)
        context = _new_job_context(request, entry, form)
        context["copied_from"] = source if initial is not None else None
        return dashboard_render(request, "jobs/job_new.html", context)

    form = JobInputForm(request.POST, request.FILES, entry=entry, tenant=request.tenant)
    if not form.is_valid():
        return dashboard_render(request, "jobs/job_new.html", _new_job_context(request, entry, form), status=400)

    # 1. Store the new files (a file the team already has is that asset). One refused file undoes
    # the files stored for this form: nothing is half-created, and no file of the wrong kind stays.
    created: dict[str, Asset] = {}
    fresh: dict[str, Asset] = {}
    try:
        for name, upload in form.uploads():
            try:
                asset, new = services.asset_store(tenant=request.tenant, actor=request.actor, upload=upload)
            except ValidationError as exc:
                form.add_upload_error(name, exc)
                continue
            if new:
                fresh[name] = asset
            wrong = form.wrong_kind(name, asset)
            if wrong:
                form.add_upload_error(name, ValidationError(wrong))
                continue
            created[name] = asset
    except ParleyError as exc:
        form.add_error(None, exc.message)
        _discard(request, fresh)
        return dashboard_render(request, "jobs/job_new.html", _new_job_context(request, entry, form),
                                status=exc.status_code)
    if form.errors:
        _discard(request, fresh)
        return dashboard_render(request, "jobs/job_new.html", _new_job_context(request, entry, form), status=400)

    # 2. Create the job.
    inputs = form.build_input(created)
    try:
        job = services.job_create(tenant=request.tenant, actor=request.actor, model_id=entry.id, inputs=inputs)
    except (ValidationError, ParleyError) as exc:
        status = exc.status_code if isinstance(exc, ParleyError) else 400
        if created:
            # Keep the stored files (they are reusable) and choose them in the re-shown form.
            data = request.POST.copy()
            for name, asset in created.items():
                data[name] = str(asset.id)
            form = JobInputForm(data, entry=entry, tenant=request.tenant)
            form.is_valid()
            form.build_input({})
            names = ", ".join(a.original_name or str(a.id) for a in created.values())
            many = len(created) > 1
            messages.warning(request, f"The job was not created, but your upload{'s' if many else ''} ({names}) "
                                      f"{'were' if many else 'was'} saved as asset{'s' if many else ''}, "
                                      "already selected below: fix the form and submit again.")
        if isinstance(exc, ParleyError):
            form.add_error(None, exc.message)
        else:
            form.add_path_errors(exc)
        return dashboard_render(request, "jobs/job_new.html", _new_job_context(request, entry, form), status=status)
    messages.success(request, f"Job created and queued (quote {job.quote_amount} {job.quote_currency.upper()}).")
    return redirect("jobs:detail", job_id=job.id)


def _copied_job(request: HttpRequest) -> Job | None:
    """The job named by ``?from=<id>`` (one of the tenant's), whose input fills the form."""
    try:
        return _job_or_404(request, uuid.UUID(request.GET.get("from", "")))
    except (ValueError, Http404):
        return None


@require_POST
@tenant_required
def job_again(request: HttpRequest, job_id: uuid.UUID) -> HttpResponse:
    """Run a job again as it was (a new job, a new quote); when that is refused (a file deleted
    since, a budget reached), the form opens filled with its input and says why."""
    job = _job_or_404(request, job_id)
    try:
        again = services.job_create(tenant=request.tenant, actor=request.actor, model_id=job.model_id,
                                    inputs=job.input)
    except RoleForbidden as exc:
        return forbidden(request, exc.message)
    except (ValidationError, ParleyError) as exc:
        reasons = exc.messages if isinstance(exc, ValidationError) else [exc.message]
        messages.error(request, "The job could not be run again as it was: " + " ".join(reasons))
        return redirect(f"{reverse('jobs:new')}?{urlencode({'model': job.model_id, 'from': str(job.id)})}")
    messages.success(request, f"Running job {str(job.id)[:8]} again as a new job "
                              f"(quote {again.quote_amount} {again.quote_currency.upper()}).")
    return redirect("jobs:detail", job_id=again.id)


@require_POST
@tenant_required
def job_new_quote(request: HttpRequest) -> HttpResponse:
    """The new-job form's live price (htmx posts the form here as its inputs change): the same
    ``job_quote`` the API and ``job_create`` use, or why there is no price yet. Creates nothing;
    files not yet uploaded are not sent, so their slots read as empty until stored."""
    entry = _entry_or_none(request.GET.get("model") or request.POST.get("model"))
    context: dict[str, Any] = {"entry": entry, "quote": None, "problems": []}
    if entry is None:
        context["problems"] = ["Pick a model to see its price."]
        return render(request, "jobs/_quote.html", context)
    form = JobInputForm(request.POST, entry=entry, tenant=request.tenant)
    if not form.is_valid():
        context["problems"] = ["The price appears once the required inputs are chosen (a new file counts "
                               "once it is stored)."]
        return render(request, "jobs/_quote.html", context)
    try:
        quoted = services.job_quote(tenant=request.tenant, model_id=entry.id, inputs=form.build_input({}))
    except ValidationError as exc:
        errors = exc.message_dict if hasattr(exc, "error_dict") else {"": exc.messages}
        context["problems"] = [f"{path}: {msg}" if path else msg for path, msgs in errors.items() for msg in msgs]
    else:
        context["quote"] = quoted.price
    return render(request, "jobs/_quote.html", context)


def _discard(request: HttpRequest, created: dict[str, Asset]) -> None:
    for asset in created.values():
        try:
            services.asset_delete(tenant=request.tenant, actor=request.actor, asset_id=str(asset.id))
        except (Asset.DoesNotExist, ParleyError):
            pass
    created.clear()


# --- assets -------------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@tenant_required
def asset_list(request: HttpRequest) -> HttpResponse:
    """``/assets/``: the tenant's files, newest first, and an upload form."""
    form = AssetUploadForm(request.POST, request.FILES) if request.method == "POST" else AssetUploadForm()
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                asset, new = services.asset_store(
                    tenant=request.tenant, actor=request.actor, upload=form.cleaned_data["file"]
                )
            except RoleForbidden as exc:
                return forbidden(request, exc.message)
            except ValidationError as exc:
                form.add_error("file", exc.message_dict.get("file", exc.messages)
                               if hasattr(exc, "error_dict") else exc.messages)
            except ParleyError as exc:
                form.add_error(None, exc.message)
            else:
                if new:
                    messages.success(request, f"Uploaded {asset.original_name or asset.id} ({asset.kind}).")
                else:
                    messages.info(request, f"You already have this file: {asset.original_name or asset.id} "
                                           f"({asset.kind}), uploaded {asset.created_at:%Y-%m-%d}.")
                return redirect("jobs:assets")
        status = 400
    return dashboard_render(request, "jobs/asset_list.html", {
        "nav": "assets",
        "page": _page(request, selectors.asset_list(tenant=request.tenant)),
        "form": form,
        "can_edit": role_allows(request.actor.role, Role.MEMBER),
    }, status=status)


@require_POST
@tenant_required
def asset_delete(request: HttpRequest, asset_id: uuid.UUID) -> HttpResponse:
    """Delete an asset (POST); refused with the service's message while a job still uses it."""
    try:
        services.asset_delete(tenant=request.tenant, actor=request.actor, asset_id=str(asset_id))
    except Asset.DoesNotExist:
        raise Http404("No such asset.") from None
    except RoleForbidden as exc:
        return forbidden(request, exc.message)
    except ParleyError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "The asset was deleted.")
    return redirect("jobs:assets")


@require_GET
@tenant_required
def asset_file(request: HttpRequest, asset_id: uuid.UUID) -> FileResponse:
    """The asset's file, inline (its content type was sniffed at upload, never trusted)."""
    asset = _asset_or_404(request, asset_id)
    return FileResponse(
        asset.file.open("rb"), content_type=asset.content_type,
        filename=asset.original_name or f"{asset.id}{asset.extension}",
        as_attachment=bool(request.GET.get("download")),
    )

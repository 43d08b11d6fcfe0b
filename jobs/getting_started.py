"""The dashboard's getting-started page (/getting-started/): make a key, upload the sample files with
curl, create a job and fetch its video, with this site's own address in every command."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.templatetags.static import static
from django.views.decorators.http import require_GET

from accounts.models import Role, role_allows
from accounts.views import dashboard_render, tenant_required


@tenant_required
@require_GET
def getting_started(request: HttpRequest) -> HttpResponse:
    actor = request.actor
    return dashboard_render(request, "jobs/getting_started.html", {
        "nav": "getting-started",
        "base": request.build_absolute_uri("/").rstrip("/"),
        "face_url": request.build_absolute_uri(static("samples/face.png")),
        "speech_url": request.build_absolute_uri(static("samples/speech.wav")),
        "key_prefix": "prl_live_" if actor.livemode else "prl_test_",
        "can_make_keys": role_allows(actor.role, Role.ADMIN),
    })

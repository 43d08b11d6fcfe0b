"""Where WaveSpeed and fal report on a task: a plain Django view (providers are not API clients)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from providers.clients.errors import ProviderUnavailable, WebhookVerificationError

from .pipeline.provider_webhook import provider_webhook_receive


@csrf_exempt
def provider_webhook_view(
    request: HttpRequest, provider: str, mode: str, job_id: str | None = None, token: str | None = None
) -> HttpResponse:
    """Where WaveSpeed and fal report a finished task. Verified by its signature, applied once."""
    if request.method != "POST":
        return HttpResponse(status=405)
    try:
        provider_webhook_receive(provider=provider, mode=mode, headers=request.headers, body=request.body,
                                 job_id=job_id, token=token)
    except WebhookVerificationError as exc:
        return HttpResponse(f"invalid signature: {exc}", status=401, content_type="text/plain")
    except ProviderUnavailable as exc:  # e.g. the signing keys could not be fetched: ask for a retry
        return HttpResponse(f"try again later: {exc}", status=503, content_type="text/plain")
    except KeyError:  # an unknown provider or mode, or a job token we did not make (UnknownWebhookTarget)
        return HttpResponse(status=404)
    return HttpResponse(status=200)

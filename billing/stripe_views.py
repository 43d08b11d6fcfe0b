"""Where Stripe reports events: a plain Django view (Stripe is not an API client of ours)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from .stripe_webhooks import WebhookSignatureInvalid, stripe_webhook_receive


@csrf_exempt
def stripe_webhook_view(request: HttpRequest) -> HttpResponse:
    """Verified by Stripe-Signature, applied once per event id; 2xx tells Stripe to stop retrying."""
    if request.method != "POST":
        return HttpResponse(status=405)
    try:
        stripe_webhook_receive(payload=request.body, signature=request.headers.get("Stripe-Signature"))
    except WebhookSignatureInvalid as exc:
        return HttpResponse(f"invalid signature: {exc}", status=400, content_type="text/plain")
    return HttpResponse(status=200)

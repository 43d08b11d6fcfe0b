"""URLs of Stripe billing: the webhook endpoint Stripe posts events to."""

from django.urls import path

from .stripe_views import stripe_webhook_view

urlpatterns = [
    path("webhooks/stripe", stripe_webhook_view, name="stripe-webhook"),
]

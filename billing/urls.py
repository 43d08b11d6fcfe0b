"""Dashboard URLs of the billing app (the REST API is in ``billing.api_urls``)."""

from django.urls import path

from . import key_views, views

app_name = "billing"

urlpatterns = [
    path("billing/", views.billing, name="page"),
    path("billing/usage.csv", views.usage_csv, name="usage-csv"),
    path("billing/checkout", views.checkout, name="checkout"),
    path("billing/portal", views.portal, name="portal"),
    path("settings/api-keys/", key_views.api_keys, name="api-keys"),
]

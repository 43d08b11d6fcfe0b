"""Dashboard URLs of the billing app (the REST API is in ``billing.api_urls``)."""

from django.urls import path

from . import views

app_name = "billing"

urlpatterns = [
    path("billing/", views.billing, name="page"),
]

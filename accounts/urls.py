"""Dashboard URLs of the accounts app (sign-in and sign-up are allauth's, under /accounts/)."""

from django.urls import path

from . import views

app_name = "accounts"

urlpatterns = [
    path("", views.home, name="home"),
    path("settings/api-keys/", views.api_keys, name="api-keys"),
    path("settings/api-keys/<int:key_id>/revoke", views.api_key_revoke_view, name="api-key-revoke"),
    path("settings/tenant/", views.tenant_switch, name="tenant-switch"),
    path("settings/mode/", views.mode_switch, name="mode-switch"),
]

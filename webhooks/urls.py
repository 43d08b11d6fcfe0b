"""Dashboard URLs of the webhooks app."""

from django.urls import path

from . import views

app_name = "webhooks"

urlpatterns = [
    path("webhooks", views.endpoints_page, name="page"),
    path("webhooks/endpoints/<int:endpoint_id>", views.endpoint_page, name="endpoint"),
    path("webhooks/endpoints/<int:endpoint_id>/rotate", views.endpoint_rotate, name="rotate"),
    path("webhooks/endpoints/<int:endpoint_id>/test", views.endpoint_test, name="test"),
    path("webhooks/endpoints/<int:endpoint_id>/enabled", views.endpoint_enabled, name="enabled"),
    path("webhooks/endpoints/<int:endpoint_id>/delete", views.endpoint_delete, name="delete"),
]

"""REST API routes of the providers app (the model catalogue), included under /api/v1/ by ``config.api_urls``."""

from django.urls import path

from .apis import ModelDetailApi, ModelListApi

urlpatterns = [
    path("models", ModelListApi.as_view(), name="model-list"),
    path("models/<path:model_id>", ModelDetailApi.as_view(), name="model-detail"),
]

"""The ops app: no models; it hooks the provider clients' request observer and the poller's poll
observers at start."""

from django.apps import AppConfig


class OpsConfig(AppConfig):
    name = "ops"
    label = "ops"
    verbose_name = "Operations"

    def ready(self) -> None:
        from .poller_metrics import poller_metrics_install
        from .provider_metrics import provider_metrics_install

        provider_metrics_install()
        poller_metrics_install()

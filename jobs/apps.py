"""The jobs app: on ``accounts.signals.tenant_closing`` (a team being deleted) it cancels the team's
unfinished jobs."""

from django.apps import AppConfig


class JobsConfig(AppConfig):
    name = "jobs"

    def ready(self) -> None:
        from accounts.signals import tenant_closing

        from .services import jobs_cancel_all

        def cancel_running(sender: object, *, tenant: object, actor: object, **kwargs: object) -> None:
            jobs_cancel_all(tenant=tenant, actor=actor)

        tenant_closing.connect(cancel_running, dispatch_uid="jobs.jobs_cancel_all", weak=False)

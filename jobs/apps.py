"""The jobs app: on ``accounts.signals.tenant_closing`` (a team being deleted) it cancels the team's
unfinished jobs; around each request, the tasks it enqueues are pushed once the answer is sent
(``jobs/queue.py``)."""

from django.apps import AppConfig


class JobsConfig(AppConfig):
    name = "jobs"

    def ready(self) -> None:
        from django.core.signals import request_finished, request_started

        from accounts.signals import tenant_closing

        from .queue import request_pushes_hold, request_pushes_send
        from .services import jobs_cancel_all

        request_started.connect(request_pushes_hold, dispatch_uid="jobs.queue.hold")
        request_finished.connect(request_pushes_send, dispatch_uid="jobs.queue.send")

        def cancel_running(sender: object, *, tenant: object, actor: object, **kwargs: object) -> None:
            jobs_cancel_all(tenant=tenant, actor=actor)

        tenant_closing.connect(cancel_running, dispatch_uid="jobs.jobs_cancel_all", weak=False)

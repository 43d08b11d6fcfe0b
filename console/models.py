"""No tables: a proxy of ``Job`` gives the provider health page its row in the admin's index."""

from jobs.models import Job


class ProviderHealth(Job):
    class Meta:
        proxy = True
        verbose_name = "provider health"
        verbose_name_plural = "provider health"

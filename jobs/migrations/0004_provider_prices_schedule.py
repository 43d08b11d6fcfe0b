from datetime import UTC, datetime, timedelta

from django.db import migrations


def schedule_price_check(apps, schema_editor):
    """The daily check of our metering against the providers' own prices, at 03:30 UTC (after the
    ledger's reconciliation with Stripe; yesterday's jobs are all charged by then)."""
    Schedule = apps.get_model("django_q", "Schedule")
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).replace(hour=3, minute=30, second=0, microsecond=0)
    Schedule.objects.get_or_create(name="provider_prices_reconcile", defaults={
        "func": "jobs.tasks.provider_prices_reconcile_task", "schedule_type": "D", "repeats": -1,
        "next_run": tomorrow,
    })


def unschedule_price_check(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name="provider_prices_reconcile").delete()


class Migration(migrations.Migration):

    dependencies = [
        ("jobs", "0003_provider_duration"),
        ("django_q", "0018_task_success_index"),
    ]

    operations = [migrations.RunPython(schedule_price_check, unschedule_price_check)]

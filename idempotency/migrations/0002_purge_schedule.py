from datetime import UTC, datetime

from django.db import migrations


def schedule_purge(apps, schema_editor):
    """Expired idempotency keys (older than IDEMPOTENCY_KEY_TTL_S) are deleted every hour."""
    apps.get_model("django_q", "Schedule").objects.get_or_create(name="idempotency_purge", defaults={
        "func": "idempotency.tasks.idempotency_purge_task", "schedule_type": "H", "repeats": -1,
        "next_run": datetime.now(UTC),
    })


def unschedule_purge(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name="idempotency_purge").delete()


class Migration(migrations.Migration):

    dependencies = [
        ("idempotency", "0001_idempotency_keys"),
        ("django_q", "0018_task_success_index"),
    ]

    operations = [migrations.RunPython(schedule_purge, unschedule_purge)]

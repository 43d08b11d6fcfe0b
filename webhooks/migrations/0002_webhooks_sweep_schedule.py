from django.db import migrations


def schedule_sweep(apps, schema_editor):
    """Every minute, hand the messages whose retry is due to the workers (webhooks/tasks.py)."""
    Schedule = apps.get_model("django_q", "Schedule")
    Schedule.objects.get_or_create(name="webhook_deliver_due", defaults={
        "func": "webhooks.tasks.webhook_deliver_due_task", "schedule_type": "I", "minutes": 1, "repeats": -1,
    })


def unschedule_sweep(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name="webhook_deliver_due").delete()


class Migration(migrations.Migration):

    dependencies = [
        ("webhooks", "0001_webhooks"),
        ("django_q", "0018_task_success_index"),
    ]

    operations = [migrations.RunPython(schedule_sweep, unschedule_sweep)]

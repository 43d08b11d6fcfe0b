"""The operator's console: the Django admin made into a tool for running the platform. It sits above
the other apps (it reads accounts, billing and jobs together; nothing imports it)."""

from django.apps import AppConfig


class ConsoleConfig(AppConfig):
    name = "console"
    verbose_name = "Operator console"

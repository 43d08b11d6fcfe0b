"""python manage.py create_tenant NAME --owner EMAIL [--password P] [--api-key [--test-key] [--key-role R]] [--json]

The owner's first key is an admin key by default, so that a tenant can be provisioned entirely over
the API (its other keys are made with ``POST /api/v1/api-keys``)."""

from __future__ import annotations

import json

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from accounts.actors import Actor
from accounts.models import ApiKeyMode, Role, User
from accounts.services import api_key_create, tenant_create, user_create


class Command(BaseCommand):
    help = "Create a tenant with an owner (an existing user, or a new one) and optionally an API key."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="The tenant's (team's) name.")
        parser.add_argument("--owner", required=True, help="The owner's email; created if new.")
        parser.add_argument("--password", help="Password for a new owner (else they must reset it).")
        parser.add_argument("--api-key", action="store_true", help="Also create a live API key and print it.")
        parser.add_argument("--test-key", action="store_true", help="Make that key a test-mode key.")
        parser.add_argument("--key-role", choices=[Role.ADMIN, Role.MEMBER, Role.VIEWER], default=Role.ADMIN,
                            help="That key's role (default admin: it can manage the tenant's keys).")
        parser.add_argument("--json", action="store_true", help="Print one JSON object.")

    def handle(self, *args: object, **options: object) -> None:
        email = str(options["owner"]).strip().lower()
        try:
            with transaction.atomic():
                owner = User.objects.filter(email=email).first()
                created_owner = owner is None
                if owner is None:
                    owner = user_create(email=email, password=options.get("password"))
                tenant = tenant_create(name=str(options["name"]), owner=owner)
                secret = None
                if options["api_key"]:
                    mode = ApiKeyMode.TEST if options["test_key"] else ApiKeyMode.LIVE
                    # Made for the new owner, as if they had made it in the dashboard.
                    owner_actor = Actor(tenant=tenant, role=Role.OWNER, user=owner)
                    _, secret = api_key_create(tenant=tenant, actor=owner_actor, name="created by create_tenant",
                                               mode=mode, role=options["key_role"])
        except ValidationError as exc:
            raise CommandError("; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())) from exc
        if options["json"]:
            self.stdout.write(json.dumps({"tenant": str(tenant.id), "owner": owner.email, "api_key": secret}))
            return
        self.stdout.write(f"tenant {tenant.id} ({tenant.name})")
        self.stdout.write(f"owner  {owner.email}{' (new user)' if created_owner else ''}")
        if secret:
            self.stdout.write(f"api key {secret}  (shown once; store it now)")

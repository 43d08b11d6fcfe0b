"""Idempotently create the demo tenant, its owner and its API key, and print them (development)."""

from __future__ import annotations

import hashlib
import hmac

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction

from accounts.models import ApiKey, Membership, Role, Tenant, User
from accounts.services import hash_api_key, tenant_create, user_create

DEMO_EMAIL = "demo@parley.localhost"
DEMO_PASSWORD = "parley-demo"
DEMO_TENANT = "Demo team"


def demo_api_key_secret() -> str:
    """Derived from SECRET_KEY, so that every run prints the same working key without storing it."""
    digest = hmac.new(settings.SECRET_KEY.encode(), b"parley demo api key", hashlib.sha256).hexdigest()
    return "prl_live_demo" + digest[:40]


class Command(BaseCommand):
    help = "Create (once) the demo tenant with an owner login and an API key, and print them."

    def handle(self, *args: object, **options: object) -> None:
        with transaction.atomic():
            user = User.objects.filter(email=DEMO_EMAIL).first()
            if user is None:
                user = user_create(email=DEMO_EMAIL, password=DEMO_PASSWORD)
            membership = Membership.objects.filter(user=user, tenant__name=DEMO_TENANT).select_related("tenant").first()
            tenant: Tenant = membership.tenant if membership else tenant_create(name=DEMO_TENANT, owner=user)
            secret = demo_api_key_secret()
            # An admin key, so that it can do all the README shows (managing keys included); a demo
            # key made as a member by an earlier version is raised to admin.
            key, _ = ApiKey.objects.get_or_create(
                hashed_key=hash_api_key(secret),
                defaults={"tenant": tenant, "name": "Demo key", "prefix": secret[:13], "created_by": user,
                          "role": Role.ADMIN})
            if key.role != Role.ADMIN:
                ApiKey.objects.filter(pk=key.pk).update(role=Role.ADMIN)
        self.stdout.write(self.style.SUCCESS("Demo tenant ready:"))
        self.stdout.write(f"  sign in   {settings.PUBLIC_BASE_URL}/accounts/login/")
        self.stdout.write(f"  email     {DEMO_EMAIL}")
        self.stdout.write(f"  password  {DEMO_PASSWORD}")
        self.stdout.write(f"  api key   {secret}")
        self.stdout.write(
            f"  try       curl -H 'Authorization: Bearer {secret}' {settings.PUBLIC_BASE_URL}/api/v1/models"
        )
        self.stdout.write("  samples   samples/face.png and samples/speech.wav (README, \"Try it as an API user\")")

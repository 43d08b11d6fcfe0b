"""Who is acting: a signed-in member or an API key (with its role and mode), or the platform
itself; every service that changes data takes one and checks its role."""

from __future__ import annotations

from dataclasses import dataclass

from config.errors import RoleForbidden

from .models import ApiKey, Role, Tenant, User, role_allows


@dataclass(frozen=True)
class Actor:
    tenant: Tenant
    role: str
    user: User | None = None
    api_key: ApiKey | None = None
    livemode: bool = True

    @classmethod
    def system(cls, tenant: Tenant) -> Actor:
        """The platform itself acting in ``tenant`` (a management command, the admin site, a test's
        setup): every right, no person, no key. Never built from a request."""
        return cls(tenant=tenant, role=Role.OWNER)

    @property
    def label(self) -> str:
        if self.api_key is not None:
            return f"api key {self.api_key.prefix}"
        if self.user is not None:
            return self.user.email
        return "system"

    def require(self, role: str) -> None:
        """Raise RoleForbidden unless this actor's role includes ``role``'s rights."""
        if not role_allows(self.role, role):
            raise RoleForbidden(
                f"This needs the {Role(role).label.lower()} role or higher; you are {Role(self.role).label.lower()}."
            )

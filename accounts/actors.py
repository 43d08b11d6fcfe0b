"""Who is acting: a signed-in member or an API key (with its role and mode), or the platform
itself; every service that changes data takes one and checks its role."""

from __future__ import annotations

from dataclasses import dataclass

from config.errors import RoleForbidden

from .models import ROLE_RANK, ApiKey, Role, Tenant, User, role_allows


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

    @classmethod
    def from_api_key(cls, key: ApiKey) -> Actor:
        """The actor of a request made with ``key``, as ``api_key_authenticate`` returns it (with
        ``creator_role``): the key's role, lowered to its creator's current role in the tenant, so a
        key never acts with more than the team still grants the person who made it. A key the
        system made (no creator) acts with its own role."""
        role = key.role
        if key.created_by_id is not None:
            role = min(Role(key.role), Role(key.creator_role), key=ROLE_RANK.__getitem__)
        return cls(tenant=key.tenant, role=role, api_key=key, livemode=key.livemode)

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

"""Who is acting in a request: a signed-in member or an API key, with its role and mode."""

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

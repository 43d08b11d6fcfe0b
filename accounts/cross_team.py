"""A link to a job or an asset of another of the user's teams: instead of a bare "No such job",
the 404 page names the team the object belongs to and offers to switch to it. Only teams the user
is a member of are ever named; for anyone else it is the same 404 as a missing object."""

from __future__ import annotations

from django.db.models import Model
from django.http import Http404, HttpRequest

from .models import Tenant
from .selectors import tenant_holding


class InOtherTeam(Http404):
    """Raised by a dashboard view for an object of another team of the user's; the middleware
    renders it (``accounts/other_team.html``, status 404)."""

    def __init__(self, *, kind: str, tenant: Tenant) -> None:
        super().__init__(f"This {kind} belongs to the team {tenant.name}.")
        self.kind = kind
        self.tenant = tenant


def not_found(request: HttpRequest, *, kind: str, model: type[Model], pk: object) -> Http404:
    """The 404 to raise for ``pk`` missing from the request's team: InOtherTeam when another of
    the user's teams holds it, a plain Http404 otherwise."""
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        tenant = tenant_holding(user=user, model=model, pk=pk)
        if tenant is not None and tenant != getattr(request, "tenant", None):
            return InOtherTeam(kind=kind, tenant=tenant)
    return Http404(f"No such {kind}.")

"""The dashboard's list filters: query parameters checked by a form before they reach a query."""

from __future__ import annotations

from django import forms

from .models import Job, JobStatus


class JobListFilters(forms.Form):
    """``/jobs/?status=&model=``. Django's CharField refuses a NUL (which PostgreSQL cannot take)
    and the length is the column's; a value that is not valid is dropped, so the list is shown
    unfiltered by it rather than refused (the filters are links and selects, not a form to fix)."""

    status = forms.ChoiceField(choices=JobStatus.choices, required=False)
    model = forms.CharField(max_length=Job._meta.get_field("model_id").max_length, required=False)

    def values(self) -> tuple[str, str]:
        """``(status, model_id)``, each ``""`` when absent or not valid."""
        self.is_valid()  # cleaned_data then holds the valid fields only
        return self.cleaned_data.get("status") or "", self.cleaned_data.get("model") or ""

"""The dashboard's list filters: query parameters checked by a form before they reach a query."""

from __future__ import annotations

from django import forms

from .job_table import JobTableQuery
from .models import Job, JobStatus


class JobListFilters(forms.Form):
    """``/jobs/?status=&model=&key=&from=&to=&q=``. Django's fields refuse a NUL (which PostgreSQL
    cannot take) and lengths are the columns'; a value that is not valid is dropped, so the list is
    shown unfiltered by it rather than refused (the filters are links and selects, not a form to fix),
    except a search that cannot be a job id, which finds nothing and says so."""

    status = forms.ChoiceField(choices=JobStatus.choices, required=False)
    model = forms.CharField(max_length=Job._meta.get_field("model_id").max_length, required=False)
    key = forms.IntegerField(min_value=1, max_value=2**62, required=False)
    created_from = forms.DateField(required=False)
    created_to = forms.DateField(required=False)
    q = forms.CharField(max_length=64, required=False, strip=True)

    def query(self) -> JobTableQuery:
        self.is_valid()
        data = self.cleaned_data
        return JobTableQuery(
            status=data.get("status") or "", model_id=data.get("model") or "", api_key_id=data.get("key"),
            created_from=data.get("created_from"), created_to=data.get("created_to"), search=data.get("q") or "",
        )

    @property
    def active(self) -> bool:
        """Whether any valid filter narrows the list (for the "Clear" link and the empty message)."""
        query = self.query()
        return any((query.status, query.model_id, query.api_key_id, query.created_from, query.created_to,
                    query.search))

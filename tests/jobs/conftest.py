"""Fixtures of the job layer's tests."""

from __future__ import annotations

from tests.jobs.scripted_provider import provider  # noqa: F401 - a fixture

"""Parley's Python client: ``parley.Client`` and the ``parley`` command line."""

from .client import Client
from .errors import (
    APIConnectionError,
    AuthenticationError,
    ConflictError,
    NotFoundError,
    ParleyError,
    PaymentRequiredError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    ValidationError,
    WaitTimeout,
)
from .files import File
from .types import Asset, Job, Model, Page, Quote, Usage

__version__ = "0.1.0"

__all__ = [
    "APIConnectionError", "Asset", "AuthenticationError", "Client", "ConflictError", "File", "Job", "Model",
    "NotFoundError", "Page", "ParleyError", "PaymentRequiredError", "PermissionDeniedError", "Quote",
    "RateLimitError", "ServerError", "Usage", "ValidationError", "WaitTimeout", "__version__",
]

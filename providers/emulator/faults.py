"""Fault injection: which faults exist, how they are armed per provider (or ``all``) and how each
API call or submitted task consumes them. The list of faults and their effects is in the
package's docstring (``providers/emulator/__init__.py``)."""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass, fields
from typing import Any, Literal

from .config import PROVIDER_NAMES, EmulatorConfig

FAULT_SCOPE_ALL = "all"


@dataclass
class FaultSettings:
    """The faults of one scope (a provider, or ``all``). Counters are consumed one per API call
    (``rate_limit``, ``server_error``, ``timeout``, ``malformed_json``) or per submitted task
    (``fail_task``); flags hold until cleared."""

    latency_s: float = 0.0
    output_latency_s: float = 0.0
    rate_limit: int = 0
    retry_after_s: float | None = None
    server_error: int = 0
    server_error_status: int | None = None
    timeout: int = 0
    hang_s: float | None = None
    malformed_json: int = 0
    fail_task: int = 0
    expired_output: bool = False
    duplicate_webhook: bool = False

    def is_default(self) -> bool:
        return self == FaultSettings()


FAULT_NAMES: tuple[str, ...] = tuple(f.name for f in fields(FaultSettings))
_CALL_FAULTS: tuple[str, ...] = ("rate_limit", "server_error", "malformed_json", "timeout")


@dataclass(frozen=True)
class CallFault:
    """A fault consumed by one API call."""

    kind: Literal["rate_limit", "server_error", "malformed_json", "timeout"]
    retry_after_s: float = 1.0
    status: int | None = None
    hang_s: float = 35.0


class Faults:
    """Runtime fault injection, scoped per provider or ``all`` (thread-safe)."""

    def __init__(self, config: EmulatorConfig) -> None:
        self._config = config
        self._lock = threading.Lock()
        self._scopes: dict[str, FaultSettings] = {}

    def set(self, provider: str | None = None, **values: Any) -> None:
        """Merge ``values`` into the scope's faults (a value given replaces the previous one).
        ValueError on an unknown provider, fault name or a value of the wrong type."""
        scope = _scope(provider)
        unknown = sorted(set(values) - set(FAULT_NAMES))
        if unknown:
            raise ValueError(f"unknown fault(s): {', '.join(unknown)}; known: {', '.join(FAULT_NAMES)}")
        cleaned = {name: _fault_value(name, value) for name, value in values.items()}
        with self._lock:
            current = self._scopes.get(scope, FaultSettings())
            for name, value in cleaned.items():
                setattr(current, name, value)
            self._scopes[scope] = current

    def clear(self, provider: str | None = None) -> None:
        """Clear one scope (``provider``), or every scope when ``provider`` is None."""
        with self._lock:
            if provider is None:
                self._scopes.clear()
            else:
                self._scopes.pop(_scope(provider), None)

    def snapshot(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            return {scope: asdict(s) for scope, s in self._scopes.items() if not s.is_default()}

    def _chain(self, provider: str) -> list[FaultSettings]:
        return [s for s in (self._scopes.get(provider), self._scopes.get(FAULT_SCOPE_ALL)) if s is not None]

    def latency(self, provider: str) -> float:
        with self._lock:
            return max([s.latency_s for s in self._chain(provider)] or [0.0])

    def output_latency(self, provider: str) -> float:
        """How long the file host holds back an output file (a slow download to deliver)."""
        with self._lock:
            return max([s.output_latency_s for s in self._chain(provider)] or [0.0])

    def flag(self, provider: str, name: Literal["expired_output", "duplicate_webhook"]) -> bool:
        with self._lock:
            return any(getattr(s, name) for s in self._chain(provider))

    def take_call_fault(self, provider: str) -> CallFault | None:
        """Consume at most one counted fault for this API call: rate_limit, then server_error,
        then malformed_json, then timeout; the provider's scope before ``all``."""
        with self._lock:
            for kind in _CALL_FAULTS:
                for settings in self._chain(provider):
                    if getattr(settings, kind) > 0:
                        setattr(settings, kind, getattr(settings, kind) - 1)
                        return CallFault(
                            kind=kind,  # type: ignore[arg-type]
                            retry_after_s=(
                                settings.retry_after_s
                                if settings.retry_after_s is not None
                                else self._config.default_retry_after_s
                            ),
                            status=settings.server_error_status,
                            hang_s=settings.hang_s if settings.hang_s is not None else self._config.default_hang_s,
                        )
        return None

    def take_fail_task(self, provider: str) -> bool:
        with self._lock:
            for settings in self._chain(provider):
                if settings.fail_task > 0:
                    settings.fail_task -= 1
                    return True
        return False


def _scope(provider: str | None) -> str:
    if provider is None or provider == FAULT_SCOPE_ALL:
        return FAULT_SCOPE_ALL
    if provider not in PROVIDER_NAMES:
        raise ValueError(f"unknown provider {provider!r}; known: {', '.join(PROVIDER_NAMES)} or {FAULT_SCOPE_ALL}")
    return provider


def _fault_value(name: str, value: Any) -> Any:
    if name in ("expired_output", "duplicate_webhook"):
        if not isinstance(value, bool):
            raise ValueError(f"{name} must be true or false")
        return value
    if name in ("latency_s", "output_latency_s", "retry_after_s", "hang_s"):
        if value is None and name not in ("latency_s", "output_latency_s"):
            return None
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise ValueError(f"{name} must be a number of seconds >= 0")
        return float(value)
    if name == "server_error_status":
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or not 500 <= value <= 599:
            raise ValueError("server_error_status must be an HTTP status 500..599")
        return value
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{name} must be a count >= 0")
    return value


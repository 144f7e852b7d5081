"""What a dashboard process is told: where the records are, where it listens, and its secrets.

    settings = DashboardSettings(records="sqlite:////var/lib/fab/records.db", port=4040)

Secrets come from the environment or a file, never from the command line; their ``repr`` is
masked, so a settings object can be logged.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path

from fabrikate.errors import InputError
from fabrikate.settings import Secret, variable

__all__ = ["DEFAULT_HOST", "DEFAULT_PORT", "DashboardSettings", "Secret", "read_secret"]

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 4040
_MAX_SECRET_FILE = 64 * 1024


def read_secret(name: str, file: Path | None, env: str) -> Secret | None:
    """The secret in ``file`` (its first line), else in ``FAB_<env>``; None when neither."""
    if file is not None:
        try:
            if file.stat().st_size > _MAX_SECRET_FILE:
                raise InputError(f"the {name} file {file} is too large for a secret")
            text = file.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(f"cannot read the {name} file {file}: {exc}") from exc
        if not text or "\n" in text:
            raise InputError(f"the {name} file {file} must hold one non-empty line")
        return Secret(text)
    value = variable(env).strip()
    return Secret(value) if value else None


def _network(text: str | None) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    if not text:
        return None
    try:
        return ipaddress.ip_network(text, strict=False)
    except ValueError as exc:
        raise InputError(f"--trusted-proxy {text!r} is not an address or CIDR range") from exc


@dataclass(frozen=True, slots=True)
class DashboardSettings:
    """Everything one dashboard process needs; the web app reads nothing else."""

    records: str | None = None  # the store URL; None: FAB_RECORDS, else the default SQLite
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    auth_token: Secret | None = None  # readers send it as a bearer token (or log in once)
    write_token: Secret | None = None  # POST marks with it
    ingest_secret: Secret | None = None  # Flux/Argo CD sign events with it (HMAC or bearer)
    trusted_proxy: str | None = None  # CIDR of an OIDC proxy whose user header is believed
    user_header: str | None = None  # e.g. X-Forwarded-User (oauth2-proxy)
    manifest_repo: Path | None = None  # a clone of the manifest repository (for "superseded")
    title: str = "fab dashboard"
    poll_seconds: float = 5.0  # how long one wait for a store change lasts before it re-arms

    def __post_init__(self) -> None:
        _network(self.trusted_proxy)
        if bool(self.trusted_proxy) != bool(self.user_header):
            raise InputError("--trusted-proxy and --user-header go together")
        if not 0 < self.port < 65536:
            raise InputError(f"--port {self.port} is not a TCP port")

    @property
    def proxy_network(self) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
        """The trusted proxy's network, parsed."""
        return _network(self.trusted_proxy)

    @property
    def writes(self) -> bool:
        """Whether anything may be written (events or marks): the store is opened writable."""
        return self.write_token is not None or self.ingest_secret is not None

    @property
    def secrets(self) -> tuple[str, ...]:
        """Every secret value, for masking."""
        given = (self.auth_token, self.write_token, self.ingest_secret)
        return tuple(s.value for s in given if s is not None)

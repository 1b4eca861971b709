"""What the IMAP and SMTP clients share about transport security."""

from __future__ import annotations

import ipaddress
import ssl

from mail.errors import ConfigError


def is_loopback(host: str) -> bool:
    """Whether ``host`` is this machine (where a password may travel in clear)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def verified_context(ca_file: str | None, label: str = "") -> ssl.SSLContext:
    """Certificates verified and host names checked: against ``ca_file`` (a private CA) when
    set, else the system's CAs. A CA file that cannot be read is a setting error."""
    try:
        return ssl.create_default_context(cafile=ca_file)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(f"cannot read the {label}CA file {ca_file}: {exc}") from None

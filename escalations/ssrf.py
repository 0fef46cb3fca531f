"""Where a client's webhook may point: public http(s) addresses only (no server-side request forgery).

A webhook URL is a request our servers make on a client's behalf, so without this check a client
could make us read the cloud metadata service (169.254.169.254), our own admin ports on loopback,
or anything else inside the provider's network. The host is resolved and *every* address it
resolves to must be public; the check runs when the URL is saved and again before each delivery,
and the delivery connects to the address that was checked (`vetted_addresses`), so a DNS answer
that changes between the check and the connect (DNS rebinding) cannot slip through.

`WEBHOOK_ALLOW_PRIVATE` lifts the address rule (a test receiver on loopback, an on-premises
install); `WEBHOOK_ALLOW_HTTP` allows plain http (on by default in development only).
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit, urlunsplit

from flask import current_app
from flask_babel import gettext as _

from core.errors import ValidationFailed

FIELD = "webhook_url"
MAX_LENGTH = 500
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def _refuse(message: str) -> ValidationFailed:
    return ValidationFailed(fields={FIELD: message})


@dataclass(frozen=True)
class Target:
    """Where one delivery goes: the host name (for TLS and the Host header) and the checked addresses."""

    scheme: str
    host: str
    port: int
    path: str
    addresses: list[str]


def check_url(url: str) -> str:
    """The cleaned URL (scheme and host lower-cased, no fragment), or ValidationFailed on `webhook_url`."""
    parts = _parse(url)
    resolve(url)
    return urlunsplit(parts._replace(scheme=parts.scheme.lower(), netloc=parts.netloc.lower(), fragment=""))


def resolve(url: str) -> Target:
    """The URL checked again and resolved now, for a delivery that connects to these addresses only."""
    parts = _parse(url)
    scheme = parts.scheme.lower()
    host = parts.hostname or ""
    port = parts.port or (443 if scheme == "https" else 80)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(scheme, host, port, path, vetted_addresses(host, port))


def _parse(url: str) -> SplitResult:
    url = (url or "").strip()
    if not url:
        raise _refuse(_("Enter the address of your system's webhook."))
    if len(url) > MAX_LENGTH:
        raise _refuse(_("The address is too long (at most %(max)d characters).", max=MAX_LENGTH))
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (raises on a port that is not a number or out of range)
    except ValueError:
        raise _refuse(_("This is not a valid address.")) from None
    allowed = ("http", "https") if current_app.config["WEBHOOK_ALLOW_HTTP"] else ("https",)
    if parts.scheme.lower() not in allowed:
        if "http" in allowed:
            raise _refuse(_("Use an address that starts with https:// or http://."))
        raise _refuse(_("Use an address that starts with https://."))
    if not parts.hostname:
        raise _refuse(_("Enter a complete address, with a host name."))
    if parts.username is not None or parts.password is not None:
        raise _refuse(
            _("Leave the user name and password out of the address; the signature proves it is us.")
        )
    return parts


def vetted_addresses(host: str, port: int) -> list[str]:
    """The addresses `host` resolves to, all of them allowed, in resolver order; else ValidationFailed."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise _refuse(_("The host name %(host)s could not be resolved.", host=host)) from None
    addresses: list[str] = []
    for _family, _type, _proto, _name, sockaddr in infos:
        address = str(sockaddr[0]).split("%", 1)[0]  # an IPv6 scope id is not part of the address
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise _refuse(_("The host name %(host)s could not be resolved.", host=host))
    if not current_app.config["WEBHOOK_ALLOW_PRIVATE"]:
        for address in addresses:
            if not is_public(ipaddress.ip_address(address)):
                raise _refuse(
                    _(
                        "%(host)s points into a private network (%(address)s); webhooks go to public "
                        "addresses only.",
                        host=host,
                        address=address,
                    )
                )
    return addresses


def is_public(address: IPAddress) -> bool:
    """Not private, loopback, link-local, multicast, reserved, unspecified or shared (CGNAT)."""
    if isinstance(address, ipaddress.IPv6Address):
        # ::ffff:127.0.0.1 and 64:ff9b::10.0.0.1 reach IPv4 hosts: judge the IPv4 address.
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is not None:
            return is_public(embedded)
        if address in ipaddress.IPv6Network("64:ff9b::/96"):
            return is_public(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    return not (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
        or not address.is_global
    )

"""Who the client is, for rate limits and logs: one function, so every limit counts the
same client (docs/operations.md, "Limits and security settings").

X-Forwarded-For is a list any client can start: only the entries the shop's own proxies
appended can be believed. With TRUSTED_PROXY_COUNT proxies in front, each appends the
address it was reached from, so the client is the entry the outermost of them added:
the TRUSTED_PROXY_COUNT-th from the right. With 0 (the default) the header is ignored and
the client is the peer address of the connection."""
from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest

__all__ = ["client_ip", "client_key"]


def _address(value: str) -> str | None:
    """A valid IP address (brackets and an IPv4 port stripped) in its canonical form."""
    value = value.strip()
    if value.startswith("[") and "]" in value:
        value = value[1:value.index("]")]
    elif value.count(":") == 1:  # "203.0.113.9:51234"
        value = value.split(":", 1)[0]
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None


def client_ip(request: HttpRequest) -> str:
    """The client's address: the peer address, or with TRUSTED_PROXY_COUNT > 0 the entry of
    X-Forwarded-For the outermost trusted proxy added (the leftmost entry when fewer are
    present: the request passed fewer proxies, each of ours). An entry that is not an IP
    address falls back to the peer address."""
    peer = request.META.get("REMOTE_ADDR") or ""
    trusted = int(getattr(settings, "TRUSTED_PROXY_COUNT", 0) or 0)
    if trusted > 0:
        hops = [hop for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
        if hops:
            forwarded = _address(hops[-min(trusted, len(hops))])
            if forwarded:
                return forwarded
    return _address(peer) or peer or "unknown"


def client_key(request: HttpRequest) -> str:
    """The client as a rate-limit key: its address, IPv6 narrowed to its /64 (one
    household or host gets a whole /64 and could rotate through it)."""
    address = client_ip(request)
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if ip.version == 6:
        return str(ipaddress.ip_network(f"{ip}/64", strict=False).network_address) + "/64"
    return str(ip)

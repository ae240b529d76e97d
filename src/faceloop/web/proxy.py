"""Who is on the other end of a request, honouring a reverse proxy only when it is trusted.

`X-Forwarded-For` and `X-Forwarded-Proto` are only headers: anyone can send them. They are read
only when the TCP peer is one of the workspace's `[web] trusted_proxies`; then the client is the
right-most address in `X-Forwarded-For` that is not itself a trusted proxy (the addresses to its
left were written by the client and prove nothing). uvicorn's own handling of these headers is
switched off (`server.py`), so the peer seen here is the real one.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass

from starlette.types import Scope

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def trusted_networks(entries: Iterable[str]) -> tuple[Network, ...]:
    """The settings' addresses and networks ("127.0.0.1", "10.0.0.0/8"), parsed once."""
    return tuple(ipaddress.ip_network(entry, strict=False) for entry in entries)


@dataclass(frozen=True)
class Client:
    #: the client's address as far as it can be trusted
    address: str
    #: the request reached us through a trusted proxy
    proxied: bool
    #: the client spoke HTTPS (to us, or to the trusted proxy)
    https: bool


def client_of(scope: Scope, trusted: tuple[Network, ...]) -> Client:
    """The client of a request (an ASGI scope), honouring forwarded headers from trusted
    proxies only."""
    peer = scope.get("client")
    address = peer[0] if peer else "?"
    https = scope.get("scheme") == "https"
    if not trusted or not _is_trusted(address, trusted):
        return Client(address, False, https)
    forwarded = _header(scope, b"x-forwarded-for")
    hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()] if forwarded else []
    client = address
    for hop in reversed(hops):
        client = hop
        if not _is_trusted(hop, trusted):
            break
    proto = _header(scope, b"x-forwarded-proto")
    if proto:
        https = proto.split(",")[0].strip().lower() == "https"
    return Client(_normal(client), True, https)


def _header(scope: Scope, name: bytes) -> str:
    values = [v.decode("latin-1") for k, v in scope.get("headers", ()) if k.lower() == name]
    return ",".join(values)


def _is_trusted(address: str, trusted: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(_normal(address))
    except ValueError:
        return False
    return any(ip in network for network in trusted if network.version == ip.version)


def _normal(address: str) -> str:
    """An address as a proxy may write it ("[2001:db8::1]:4711", "192.0.2.1:80") without its
    port and brackets, as the standard spells it; anything else unchanged."""
    text = address.strip()
    if text.startswith("[") and "]" in text:
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:
        text = text.split(":")[0]
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return address.strip()

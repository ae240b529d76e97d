"""The address guard: a collected URL (a URL list, a feed, a redirect) must not reach this
machine's own or its network's internal services, such as a cloud metadata endpoint at
169.254.169.254 or a database on 127.0.0.1.

Every host is resolved and every address it resolves to must be public; an allowlist of
networks (the `[collect] allow_networks` setting: the tests' local servers) lifts the rule for
those networks only.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from urllib.parse import urlsplit

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class RefusedAddress(Exception):
    """The URL points somewhere faceloop does not fetch from; the message says where and why."""


def _why_internal(address: Address) -> str | None:
    if address.is_loopback:
        return "a loopback address"
    if address.is_link_local:
        return "a link-local address (cloud metadata lives there)"
    if address.is_private:
        return "a private network address"
    if address.is_multicast or address.is_reserved or address.is_unspecified:
        return "a reserved address"
    return None


class AddressGuard:
    def __init__(self, allow: Iterable[str] = ()) -> None:
        self.allow: tuple[Network, ...] = tuple(
            ipaddress.ip_network(net, strict=False) for net in allow
        )

    def check(self, url: str) -> None:
        """Refuse a URL whose scheme is not http(s) or whose host resolves to an internal
        address not allowed."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            raise RefusedAddress(f"{url}: only http and https addresses are fetched")
        host = parts.hostname
        if not host:
            raise RefusedAddress(f"{url}: no host name")
        for address in self.resolve(host, parts.port or (443 if parts.scheme == "https" else 80)):
            why = _why_internal(address)
            if why and not any(address in net for net in self.allow):
                raise RefusedAddress(
                    f"{url}: {host} is {why} ({address}); faceloop does not fetch from inside "
                    "this machine or its network (allow it with [collect] allow_networks)"
                )

    @staticmethod
    def resolve(host: str, port: int) -> list[Address]:
        try:
            found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except socket.gaierror as exc:
            raise RefusedAddress(f"cannot resolve {host}: {exc.strerror}") from None
        addresses = []
        for *_, sockaddr in found:
            address = ipaddress.ip_address(sockaddr[0].split("%", 1)[0])
            if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
                address = address.ipv4_mapped
            addresses.append(address)
        return addresses

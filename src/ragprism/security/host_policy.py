"""Screening of tenant-supplied Langfuse hosts (SSRF guard, SPEC §3.2).

A host URL is first normalised, then every address its name resolves to is checked
against the operator's policy. Link-local and cloud-metadata addresses are always refused.
``GuardedBackend`` repeats the check at connect time and connects only to the addresses it
checked, so a DNS answer that changes between check and connect cannot slip through.
"""

from __future__ import annotations

import functools
import ipaddress
import socket
import ssl
import typing
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import httpcore
import httpx

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Cloud metadata endpoints outside 169.254.0.0/16 (AWS IPv6, Alibaba, Oracle legacy).
_METADATA = {
    ipaddress.ip_address("fd00:ec2::254"),
    ipaddress.ip_address("100.100.100.200"),
    ipaddress.ip_address("192.0.0.192"),
}


class HostRefused(ValueError):
    """The host is not allowed; the message says why."""


def normalise_host(raw: str) -> str:
    """``raw`` as an absolute http(s) URL without credentials, query, fragment or trailing
    slash; raises ``HostRefused`` naming what is wrong."""
    text = raw.strip()
    if not text.isprintable():
        raise HostRefused("host must not contain control characters")
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise HostRefused(f"host is not a valid URL: {exc}") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise HostRefused("host must be an absolute http:// or https:// URL")
    if not parts.hostname:
        raise HostRefused("host must include a host name")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise HostRefused("host must not contain credentials")
    if parts.query or text.endswith("?"):
        raise HostRefused("host must not contain a query string")
    if parts.fragment or text.endswith("#"):
        raise HostRefused("host must not contain a fragment")
    if any(ch.isspace() for ch in text):
        raise HostRefused("host must not contain white space")
    hostname = parts.hostname.lower()
    netloc = f"[{hostname}]" if ":" in hostname else hostname
    if port is not None:
        netloc += f":{port}"
    return urlunsplit((parts.scheme.lower(), netloc, parts.path.rstrip("/"), "", ""))


def address_refusal(addr: IPAddress, *, allow_private: bool) -> str | None:
    """Why ``addr`` may not be contacted, or None if it may."""
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped
    if addr in _METADATA or addr.is_link_local:
        return f"{addr} is a link-local or cloud metadata address"
    if addr.is_unspecified or addr.is_multicast:
        return f"{addr} is not a unicast address"
    if not allow_private and (addr.is_private or addr.is_loopback or addr.is_reserved):
        return f"{addr} is a private or loopback address, refused by the host policy"
    return None


@dataclass(frozen=True)
class HostPolicy:
    """Which Langfuse hosts tenants may configure.

    ``mode`` is ``any`` (private and loopback allowed), ``no-private`` (public addresses
    only) or ``allowlist`` (only the named hosts; ``*.example.com`` matches subdomains).
    """

    mode: str = "any"
    allowlist: tuple[str, ...] = ()

    @classmethod
    def from_setting(cls, entries: Iterable[str]) -> HostPolicy:
        items = tuple(entry.strip().lower() for entry in entries if entry.strip())
        if not items or items[0] == "any":
            return cls("any")
        if items[0] == "no-private":
            return cls("no-private")
        return cls("allowlist", items)

    def _name_allowed(self, hostname: str) -> bool:
        for entry in self.allowlist:
            if entry.startswith("*.") and hostname.endswith(entry[1:]):
                return True
            if hostname == entry:
                return True
        return False

    def resolve(self, hostname: str, port: int) -> list[str]:
        """The checked addresses of ``hostname``; raises ``HostRefused``."""
        hostname = hostname.lower().strip("[]")
        if self.mode == "allowlist" and not self._name_allowed(hostname):
            raise HostRefused(f"host {hostname} is not in the server's Langfuse host allowlist")
        try:
            infos = socket.getaddrinfo(hostname, port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError) as exc:
            raise HostRefused(f"host {hostname} cannot be resolved: {exc}") from None
        addresses: list[str] = []
        for info in infos:
            raw_addr = str(info[4][0]).split("%", 1)[0]
            addr = ipaddress.ip_address(raw_addr)
            reason = address_refusal(addr, allow_private=self.mode != "no-private")
            if reason:
                raise HostRefused(f"host {hostname} refused: {reason}")
            if raw_addr not in addresses:
                addresses.append(raw_addr)
        if not addresses:
            raise HostRefused(f"host {hostname} has no address")
        return addresses

    def check_url(self, url: str) -> None:
        """Resolve and check the host of a normalised URL; raises ``HostRefused``."""
        parts = urlsplit(url)
        assert parts.hostname is not None
        self.resolve(parts.hostname, parts.port or (443 if parts.scheme == "https" else 80))


class GuardedBackend(httpcore.NetworkBackend):
    """An httpcore network backend that connects only to addresses the policy accepts."""

    def __init__(self, policy: HostPolicy) -> None:
        self._policy = policy
        self._inner = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        last_error: Exception | None = None
        for address in self._policy.resolve(host, port):
            try:
                return self._inner.connect_tcp(
                    address, port, timeout, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last_error = exc
        assert last_error is not None
        raise last_error

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


@functools.cache
def _ssl_context() -> ssl.SSLContext:
    # Building a verifying context loads the CA bundle (~90 ms): do it once per process.
    return httpx.create_ssl_context()


def guarded_transport(policy: HostPolicy, max_connections: int = 10) -> httpx.HTTPTransport:
    """An httpx transport that connects only where ``policy`` allows; TLS still verifies
    the certificate against the host *name*."""
    transport = httpx.HTTPTransport(verify=_ssl_context(), retries=0)
    # httpx exposes no network_backend argument; its pool is the documented httpcore one.
    transport._pool = httpcore.ConnectionPool(
        ssl_context=_ssl_context(),
        network_backend=GuardedBackend(policy),
        max_connections=max_connections,
        keepalive_expiry=5.0,
    )
    return transport


def guarded_client(policy: HostPolicy, timeout: float) -> httpx.Client:
    """An httpx client over ``guarded_transport`` that never follows redirects."""
    return httpx.Client(
        transport=guarded_transport(policy), timeout=timeout, follow_redirects=False
    )

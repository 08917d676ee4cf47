"""Screening of tenant-supplied hosts: Langfuse hosts and model providers' base URLs
(SSRF guard, SPEC §3.2).

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


# IPv4 ranges that are not globally reachable (IANA special-purpose registry). Python
# 3.11's ``is_global`` misses some (192.0.0.8, for one), so the table is spelled out.
_NON_GLOBAL_V4 = tuple(
    ipaddress.ip_network(net)
    for net in (
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.0.0.0/24",
        "192.0.2.0/24",
        "192.88.99.0/24",
        "192.168.0.0/16",
        "198.18.0.0/15",
        "198.51.100.0/24",
        "203.0.113.0/24",
        "224.0.0.0/3",
    )
)
# The two globally reachable exceptions inside 192.0.0.0/24 (PCP and TURN anycast).
_GLOBAL_V4 = {ipaddress.ip_address("192.0.0.9"), ipaddress.ip_address("192.0.0.10")}
_NON_GLOBAL_V6 = tuple(
    ipaddress.ip_network(net)
    for net in (
        "::/96",
        "100::/64",
        "2001::/23",
        "2001:db8::/32",
        "fc00::/7",
        "fe80::/10",
        "fec0::/10",
        "ff00::/8",
        "3fff::/20",
        "5f00::/16",
    )
)
_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))


def embedded_ipv4(addr: IPAddress) -> list[ipaddress.IPv4Address]:
    """Every IPv4 address ``addr`` carries: IPv4-mapped, IPv4-translated, IPv4-compatible,
    6to4, Teredo (server and client) and NAT64 (well-known and local-use prefixes)."""
    if isinstance(addr, ipaddress.IPv4Address):
        return []
    value = int(addr)
    low32 = ipaddress.IPv4Address(value & 0xFFFFFFFF)
    found: list[ipaddress.IPv4Address] = []
    if addr.ipv4_mapped is not None:
        found.append(addr.ipv4_mapped)
    if value >> 32 == 0xFFFF0000:  # ::ffff:0:a.b.c.d, IPv4-translated (RFC 2765)
        found.append(low32)
    if value >> 32 == 0 and value > 1:  # ::a.b.c.d, IPv4-compatible (deprecated)
        found.append(low32)
    if addr.sixtofour is not None:
        found.append(addr.sixtofour)
    if addr.teredo is not None:
        found.extend(addr.teredo)
    if any(addr in net for net in _NAT64):
        found.append(low32)
    return found


def _is_public(addr: IPAddress) -> bool:
    if isinstance(addr, ipaddress.IPv4Address):
        if addr in _GLOBAL_V4:
            return True
        return not any(addr in net for net in _NON_GLOBAL_V4)
    return addr.is_global and not any(addr in net for net in _NON_GLOBAL_V6)


def address_refusal(addr: IPAddress, *, allow_private: bool) -> str | None:
    """Why ``addr`` may not be contacted, or None if it may.

    An IPv6 address that embeds an IPv4 address is judged by what it embeds as well, so no
    spelling (``::ffff:``, ``::``, 6to4, Teredo, NAT64) smuggles a refused address through.
    """
    embedded = embedded_ipv4(addr)
    for view in (addr, *embedded):
        if view in _METADATA or view.is_link_local:
            return f"{addr} is a link-local or cloud metadata address"
    if any(view.is_unspecified or view.is_multicast for view in (addr, *embedded)):
        return f"{addr} is not a unicast address"
    if allow_private:
        return None
    # With an embedded IPv4 address, that address says where the traffic really goes.
    judged: list[IPAddress] = [*embedded] if embedded else [addr]
    if not all(_is_public(view) for view in judged):
        return f"{addr} is a private or loopback (not public) address, refused by the host policy"
    return None


@dataclass(frozen=True)
class HostPolicy:
    """Which hosts tenants may make the server call (Langfuse hosts, model providers).

    ``mode`` is ``no-private`` (public addresses only, the default), ``any`` (private and
    loopback allowed) or ``allowlist`` (only the named hosts). Under ``no-private``,
    ``allowlist`` names the hosts the operator lets through although they are private (a
    local Langfuse or model server). ``*.example.com`` matches subdomains. Link-local and
    cloud-metadata addresses are refused under every policy.
    """

    mode: str = "any"
    allowlist: tuple[str, ...] = ()

    @classmethod
    def from_setting(
        cls, entries: Iterable[str], private_allowlist: Iterable[str] = ()
    ) -> HostPolicy:
        items = tuple(entry.strip().lower() for entry in entries if entry.strip())
        extra = tuple(entry.strip().lower() for entry in private_allowlist if entry.strip())
        if items and items[0] == "any":
            return cls("any")
        if not items or items[0] == "no-private":
            return cls("no-private", extra)
        return cls("allowlist", items + extra)

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
        named = self._name_allowed(hostname)
        if self.mode == "allowlist" and not named:
            raise HostRefused(f"host {hostname} is not in the server's host allowlist")
        try:
            infos = socket.getaddrinfo(hostname, port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError) as exc:
            raise HostRefused(f"host {hostname} cannot be resolved: {exc}") from None
        allow_private = self.mode != "no-private" or named
        addresses: list[str] = []
        for info in infos:
            raw_addr = str(info[4][0]).split("%", 1)[0]
            addr = ipaddress.ip_address(raw_addr)
            reason = address_refusal(addr, allow_private=allow_private)
            if reason:
                raise HostRefused(f"host {hostname} refused: {reason}")
            if raw_addr not in addresses:
                addresses.append(raw_addr)
        if not addresses:
            raise HostRefused(f"host {hostname} has no address")
        return addresses

    def is_loopback(self, url: str) -> bool:
        """Whether every address the host of ``url`` resolves to is a loopback address."""
        parts = urlsplit(url)
        try:
            infos = socket.getaddrinfo(parts.hostname or "", parts.port or 80)
        except (socket.gaierror, UnicodeError):
            return False
        addrs = [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]
        return bool(addrs) and all(
            addr.is_loopback or any(v.is_loopback for v in embedded_ipv4(addr)) for addr in addrs
        )

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

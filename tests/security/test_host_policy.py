"""The host policy (SSRF guard): every spelling of a non-public address is judged by what
it really reaches, with ``is_global`` semantics (SPEC §3.2)."""

from __future__ import annotations

import ipaddress

import pytest

from ragprism.security.host_policy import (
    HostPolicy,
    HostRefused,
    address_refusal,
    embedded_ipv4,
)
from ragprism.settings import Settings

# Non-public addresses in the spellings the security review found let through.
NOT_PUBLIC = [
    "100.64.0.1",  # shared address space (CGNAT)
    "::ffff:100.64.0.1",
    "fec0::1",  # deprecated site-local
    "2002:7f00:1::",  # 6to4 of 127.0.0.1
    "2002:a00:1::",  # 6to4 of 10.0.0.1
    "192.0.0.8",  # IPv4 dummy address
    "::ffff:0:a00:1",  # IPv4-translated 10.0.0.1
    "::7f00:1",  # IPv4-compatible 127.0.0.1
    "64:ff9b::a00:1",  # NAT64 of 10.0.0.1
    "64:ff9b:1::c0a8:1",  # local-use NAT64 of 192.168.0.1
    "2001:0:4136:e378:8000:63bf:3fff:fdd2",  # Teredo (documentation client)
    "198.18.0.1",
    "240.0.0.1",
    "127.0.0.1",
    "::1",
    "10.1.2.3",
    "fd00::1",
]
# Link-local and cloud metadata, in every spelling: refused under every policy.
METADATA = [
    "169.254.169.254",
    "::ffff:169.254.169.254",
    "::ffff:0:a9fe:a9fe",
    "::a9fe:a9fe",
    "64:ff9b::a9fe:a9fe",
    "64:ff9b:1::a9fe:a9fe",
    "2002:a9fe:a9fe::1",
    "fe80::1",
    "fd00:ec2::254",
    "100.100.100.200",
]
PUBLIC = ["8.8.8.8", "2606:4700::1111", "::ffff:8.8.8.8", "64:ff9b::808:808", "2002:808:808::1"]


@pytest.mark.parametrize("address", NOT_PUBLIC)
def test_no_private_refuses_every_non_public_spelling(address: str) -> None:
    assert address_refusal(ipaddress.ip_address(address), allow_private=False) is not None
    assert address_refusal(ipaddress.ip_address(address), allow_private=True) is None


@pytest.mark.parametrize("address", METADATA)
def test_link_local_and_metadata_are_refused_under_every_policy(address: str) -> None:
    for allow_private in (False, True):
        reason = address_refusal(ipaddress.ip_address(address), allow_private=allow_private)
        assert reason is not None
        assert "link-local or cloud metadata" in reason


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_pass(address: str) -> None:
    assert address_refusal(ipaddress.ip_address(address), allow_private=False) is None


def test_embedded_ipv4_unwraps_each_form() -> None:
    def unwrap(text: str) -> list[str]:
        return [str(a) for a in embedded_ipv4(ipaddress.ip_address(text))]

    assert unwrap("::ffff:10.0.0.1") == ["10.0.0.1"]
    assert unwrap("::10.0.0.1") == ["10.0.0.1"]
    assert unwrap("2002:7f00:1::") == ["127.0.0.1"]
    assert unwrap("64:ff9b::a9fe:a9fe") == ["169.254.169.254"]
    assert unwrap("2001:0:4136:e378:8000:63bf:3fff:fdd2") == ["65.54.227.120", "192.0.2.45"]
    assert unwrap("2606:4700::1111") == []


def test_the_default_policy_is_no_private() -> None:
    settings = Settings(_env_file=None)
    policy = HostPolicy.from_setting(settings.langfuse_host_policy, settings.host_allowlist)
    assert policy.mode == "no-private"
    with pytest.raises(HostRefused, match="private or loopback"):
        policy.resolve("127.0.0.1", 80)
    with pytest.raises(HostRefused, match="link-local"):
        policy.resolve("::ffff:169.254.169.254", 80)


def test_the_operator_allowlist_lets_named_private_hosts_through() -> None:
    settings = Settings(_env_file=None, host_allowlist="localhost")
    policy = HostPolicy.from_setting(settings.langfuse_host_policy, settings.host_allowlist)
    assert policy.resolve("localhost", 80)
    with pytest.raises(HostRefused):
        policy.resolve("127.0.0.1", 80)  # not named: still refused
    # Never link-local, even when named.
    with pytest.raises(HostRefused, match="link-local"):
        HostPolicy("no-private", ("169.254.169.254",)).resolve("169.254.169.254", 80)

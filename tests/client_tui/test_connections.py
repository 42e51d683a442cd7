"""Client addresses: flags, MARQUEE_*_ADDR, replicas."""

from __future__ import annotations

import pytest

from client_tui.connections import AddressError, Endpoints, channel_target, parse_addresses


def test_flags_then_env_then_defaults() -> None:
    endpoints = Endpoints.from_sources(
        {"layout": "10.0.0.1:7000"}, {"MARQUEE_RENDER_ADDR": "127.0.0.1:1, 127.0.0.1:2", "MARQUEE_LAYOUT_ADDR": "x:1"}
    )
    assert endpoints.addresses["layout"] == ["10.0.0.1:7000"]
    assert endpoints.addresses["render"] == ["127.0.0.1:1", "127.0.0.1:2"]
    assert endpoints.addresses["recommender"] == ["127.0.0.1:50051"]


def test_targets() -> None:
    assert channel_target(["render:50053"]) == "dns:///render:50053"
    assert channel_target(["127.0.0.1:1", "localhost:2"]) == "ipv4:127.0.0.1:1,127.0.0.1:2"
    assert channel_target(["[::1]:1", "::1:2"]) == "ipv6:[::1]:1,[::1]:2"


@pytest.mark.parametrize("bad", ["", "nohost", "host:", "host:99999", ":80", "a:1,b"])
def test_bad_addresses_are_named(bad: str) -> None:
    with pytest.raises(AddressError):
        parse_addresses(bad)


def test_bad_env_names_the_variable() -> None:
    with pytest.raises(AddressError, match="MARQUEE_RENDER_ADDR"):
        Endpoints.from_sources({}, {"MARQUEE_RENDER_ADDR": "oops"})

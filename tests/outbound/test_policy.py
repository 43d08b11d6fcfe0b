"""The outbound-URL policy: which addresses it refuses, that it refuses them before any connection
(a bait listener accepts none), on every redirect hop and against a DNS answer that changes, and
that OUTBOUND_ALLOWED_NETWORKS opens exactly what the operator names."""

from __future__ import annotations

import ipaddress
import os
import socket

import httpx
import pytest
from django.core.exceptions import ImproperlyConfigured

from outbound.addresses import address_refusal, allowance_from
from outbound.policy import OutboundURLRefused, outbound_client, outbound_fetch, outbound_url_check
from tests.outbound.servers import redirect_to

NOT_PUBLIC = [
    "127.0.0.1", "127.255.0.9", "10.0.0.8", "172.16.0.1", "172.31.255.254", "192.168.1.1", "169.254.169.254",
    "0.0.0.0", "100.64.0.1", "224.0.0.1", "239.255.255.250", "255.255.255.255", "240.0.0.1", "198.18.0.1",
    "::1", "::", "fc00::1", "fd12:3456::1", "fe80::1", "ff02::1", "fec0::1",
    "::ffff:127.0.0.1", "::ffff:10.0.0.1", "::ffff:169.254.169.254", "::127.0.0.1",
    "2002:7f00:1::1",  # 6to4 around 127.0.0.1
    "64:ff9b::a9fe:a9fe",  # NAT64 around 169.254.169.254
]
PUBLIC = ["8.8.8.8", "93.184.216.34", "1.1.1.1", "2606:4700:4700::1111", "::ffff:8.8.8.8", "64:ff9b::808:808"]


@pytest.mark.parametrize("address", NOT_PUBLIC)
def test_addresses_of_our_own_networks_are_refused(address):
    assert address_refusal(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_pass(address):
    assert address_refusal(ipaddress.ip_address(address)) is None


def test_the_allowance_parses_networks_and_host_names():
    allowance = allowance_from(["10.1.0.0/16", " 127.0.0.1/32", "Models.Internal.", "", "::1"])
    assert allowance.allows_address(ipaddress.ip_address("10.1.2.3"))
    assert allowance.allows_address(ipaddress.ip_address("::ffff:10.1.2.3"))  # the same host in IPv6 clothes
    assert allowance.allows_address(ipaddress.ip_address("::1"))
    assert not allowance.allows_address(ipaddress.ip_address("10.2.0.1"))
    assert not allowance.allows_address(ipaddress.ip_address("127.0.0.2"))
    assert allowance.allows_host("models.internal") and not allowance.allows_host("internal")


@pytest.mark.parametrize("entry", ["10.0.0.0/33", "not a host", "http://x", "1.2.3"])
def test_a_malformed_allowance_entry_is_a_configuration_error(entry):
    with pytest.raises(ImproperlyConfigured, match="OUTBOUND_ALLOWED_NETWORKS"):
        allowance_from([entry])


@pytest.mark.parametrize("url", [
    "http://127.0.0.1/", "http://10.0.0.8/v.mp4", "http://172.16.0.1/", "http://192.168.1.1/",
    "http://169.254.169.254/latest/meta-data/", "http://[::1]/", "http://[::ffff:127.0.0.1]/",
    "http://localhost/", "http://0x7f000001/", "http://2130706433/", "https://[fe80::1]/",
])
def test_the_early_check_refuses_our_own_networks(url):
    with pytest.raises(OutboundURLRefused) as refused:
        outbound_url_check(url)
    assert refused.value.code == "non_public_address"
    assert "non-public address" in refused.value.message


@pytest.mark.parametrize(("url", "https", "code"), [
    ("ftp://example.com/x", False, "unsupported_scheme"),
    ("file:///etc/passwd", False, "unsupported_scheme"),
    ("http://example.com/x", True, "unsupported_scheme"),
    ("http:///x", False, "invalid_url"),
    ("https://no-such-host.invalid/x", False, "unresolvable_host"),
])
def test_the_early_check_refuses_what_is_not_a_web_url(url, https, code):
    with pytest.raises(OutboundURLRefused) as refused:
        outbound_url_check(url, require_https=https)
    assert refused.value.code == code


def test_the_allowance_opens_what_it_names(settings):
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    outbound_url_check("http://127.0.0.1:8000/")
    outbound_url_check("http://localhost/")
    with pytest.raises(OutboundURLRefused):
        outbound_url_check("http://10.0.0.1/")
    settings.OUTBOUND_ALLOWED_NETWORKS = "localhost"  # a host name, as the environment gives it
    outbound_url_check("http://localhost/")
    with pytest.raises(OutboundURLRefused):
        outbound_url_check("http://127.0.0.1/")


# --- at connect time, with real sockets ----------------------------------------------------------
@pytest.mark.parametrize("bait_host", ["127.0.0.1", "127.0.0.2", "::1"])
def test_a_fetch_of_a_loopback_address_opens_no_connection(bait, connections, tmp_path, bait_host):
    trap = bait(bait_host)
    dest = tmp_path / "out"
    with pytest.raises(OutboundURLRefused) as refused:
        outbound_fetch(trap.url, str(dest), max_bytes=1000, timeout=2)
    assert refused.value.code == "non_public_address"
    assert trap.close() == 0 and connections == [] and not dest.exists()


def test_a_host_name_that_resolves_to_loopback_opens_no_connection(bait, connections, tmp_path):
    trap = bait("127.0.0.1")
    assert socket.gethostbyname("localhost") == "127.0.0.1"  # a real name, resolved by the real resolver
    with pytest.raises(OutboundURLRefused) as refused:
        outbound_fetch(f"http://localhost:{trap.port}/", str(tmp_path / "out"), max_bytes=1000, timeout=2)
    assert refused.value.code == "non_public_address" and refused.value.host == "localhost"
    assert trap.close() == 0 and connections == []


@pytest.mark.parametrize("url", ["http://10.0.0.8/v.mp4", "http://172.16.0.1/", "http://192.168.1.1/",
                                 "http://169.254.169.254/latest/meta-data/"])
def test_a_fetch_of_a_private_address_opens_no_connection(connections, tmp_path, url):
    with pytest.raises(OutboundURLRefused) as refused:
        outbound_fetch(url, str(tmp_path / "out"), max_bytes=1000, timeout=2)
    assert refused.value.code == "non_public_address"
    assert connections == []


@pytest.mark.parametrize("target", ["http://127.0.0.2:{port}/secret", "http://[::1]:{port6}/secret",
                                    "http://169.254.169.254/latest/meta-data/", "http://10.0.0.8/",
                                    "http://[::ffff:127.0.0.2]:{port}/secret"])
def test_every_redirect_hop_is_checked(settings, bait, web_server, connections, tmp_path, target):
    """The first host is allowed (127.0.0.1/32 only, standing in for a public host); where it
    redirects is not, and the bait behind the redirect accepts nothing."""
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    trap, trap6 = bait("127.0.0.2"), bait("::1")
    location = target.format(port=trap.port, port6=trap6.port)
    server = web_server(redirect_to(location))
    with pytest.raises(OutboundURLRefused) as refused:
        outbound_fetch(server.url("/video.mp4"), str(tmp_path / "out"), max_bytes=1000, timeout=2)
    assert refused.value.code == "non_public_address"
    assert server.requests == ["/video.mp4"]
    assert trap.close() == 0 and trap6.close() == 0
    assert connections == [("127.0.0.1", server.port)]


def test_a_dns_answer_that_changes_after_the_check_is_judged_again(monkeypatch, bait, connections, tmp_path):
    """DNS rebinding: the early check sees a public address, the fetch gets loopback. No real name
    does that, so the resolver is scripted here (only the resolver)."""
    trap = bait("127.0.0.1")
    answers = iter(["93.184.216.34", "127.0.0.1"])
    real = socket.getaddrinfo

    def rebinding(host, port, *args, **kwargs):
        if host == "rebind.example":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (next(answers), port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    url = f"http://rebind.example:{trap.port}/secret"
    outbound_url_check(url)  # the first answer is public
    with pytest.raises(OutboundURLRefused) as refused:
        outbound_fetch(url, str(tmp_path / "out"), max_bytes=1000, timeout=2)
    assert refused.value.code == "non_public_address"
    assert trap.close() == 0 and connections == []


def test_an_allowed_network_is_fetched_from(settings, web_server, connections, tmp_path):
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    body = os.urandom(5000)
    server = web_server(lambda path: (200, {}, body))
    dest = tmp_path / "out"
    assert outbound_fetch(server.url("/v.mp4"), str(dest), max_bytes=10_000, timeout=2) == 5000
    assert dest.read_bytes() == body
    assert connections == [("127.0.0.1", server.port)]


def test_an_allowed_host_name_is_connected_to_whatever_it_resolves_to(settings, web_server, tmp_path):
    settings.OUTBOUND_ALLOWED_NETWORKS = ["localhost"]
    server = web_server(lambda path: (200, {}, b"ok"))
    assert outbound_fetch(f"http://localhost:{server.port}/", str(tmp_path / "o"), max_bytes=10, timeout=2) == 2


@pytest.mark.parametrize("chunked", [False, True])
def test_a_file_over_the_size_cap_is_refused_and_not_kept(settings, web_server, tmp_path, chunked):
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    headers = {"Transfer-Encoding": "chunked"} if chunked else {}
    server = web_server(lambda path: (200, headers, b"x" * 5000))
    dest = tmp_path / "out"
    with pytest.raises(OutboundURLRefused) as refused:
        outbound_fetch(server.url(), str(dest), max_bytes=4999, timeout=2)
    assert refused.value.code == "too_large" and "4999 bytes" in refused.value.message
    assert not dest.exists()


def test_a_redirect_loop_is_refused(settings, web_server, tmp_path):
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    server = web_server(lambda path: (302, {"Location": f"/hop{len(path)}"}, b""))
    with pytest.raises(OutboundURLRefused) as refused:
        outbound_fetch(server.url(), str(tmp_path / "out"), max_bytes=10, timeout=2)
    assert refused.value.code == "too_many_redirects"
    assert len(server.requests) == 6  # the first request and five redirects


def test_an_http_error_is_an_httpx_error(settings, web_server, tmp_path):
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    server = web_server(lambda path: (404, {}, b"gone"))
    with pytest.raises(httpx.HTTPStatusError) as error:
        outbound_fetch(server.url(), str(tmp_path / "out"), max_bytes=10, timeout=2)
    assert error.value.response.status_code == 404
    assert not (tmp_path / "out").exists()


def test_https_only_refuses_a_plain_http_url(tmp_path, connections):
    with pytest.raises(OutboundURLRefused) as refused:
        outbound_fetch("http://example.com/", str(tmp_path / "out"), max_bytes=10, timeout=2, require_https=True)
    assert refused.value.code == "unsupported_scheme" and connections == []


def test_the_emulator_rule_allows_the_emulator_and_nothing_else(settings, web_server, bait, connections):
    server = web_server(lambda path: (200, {}, b"video"))
    settings.PROVIDER_EMULATOR_URL = server.url()
    trap = bait("127.0.0.1")
    with outbound_client(timeout=2, emulator_only=True) as http:
        assert http.get(server.url("/v.mp4")).content == b"video"
        with pytest.raises(OutboundURLRefused) as refused:
            http.get(trap.url)
    assert refused.value.code == "not_the_emulator"
    assert trap.close() == 0 and connections == [("127.0.0.1", server.port)]


def test_environment_proxies_are_not_used(monkeypatch, connections):
    """A proxy would be the peer we connect to, so the policy would judge the proxy, not the host."""
    monkeypatch.setenv("HTTP_PROXY", "http://10.9.9.9:3128")
    monkeypatch.setenv("ALL_PROXY", "http://10.9.9.9:3128")
    with outbound_client(timeout=2) as http, pytest.raises(OutboundURLRefused):
        http.get("http://127.0.0.1:9/")
    assert connections == []

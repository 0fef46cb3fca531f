"""Webhook addresses: public http(s) hosts only, checked when saved and again before each delivery."""

from __future__ import annotations

import socket
from typing import Any

import pytest
from flask import Flask

from core import config
from core.errors import ValidationFailed
from escalations import ssrf

PUBLIC = "93.184.215.14"


@pytest.fixture
def dns(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[str]]:
    """A resolver for made-up host names; IP literals and `localhost` resolve as usual."""
    names: dict[str, list[str]] = {}
    real = socket.getaddrinfo

    def getaddrinfo(host: str, port: Any, *args: Any, **kwargs: Any) -> list[Any]:
        if host in names:
            return [
                (socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port))
                for a in names[host]
            ]
        if host.endswith(".example.com"):
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return names


def _refusal(url: str) -> str:
    with pytest.raises(ValidationFailed) as caught:
        ssrf.check_url(url)
    assert set(caught.value.fields) == {"webhook_url"}
    return str(caught.value.fields["webhook_url"])


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/hook",
        "http://127.9.9.9:8080/hook",
        "http://10.1.2.3/hook",
        "http://172.16.0.1/hook",
        "http://192.168.1.10/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://[fe80::1]/hook",
        "http://[fd00::1]/hook",
        "http://0.0.0.0/hook",
        "http://224.0.0.1/hook",
        "http://100.64.0.1/hook",
        "http://240.0.0.1/hook",
        "http://2130706433/hook",  # 127.0.0.1 written as one number
        "http://localhost:5000/hook",
    ],
)
def test_private_loopback_and_metadata_addresses_are_refused(app: Flask, url: str) -> None:
    with app.test_request_context():
        assert "private network" in _refusal(url)


def test_a_host_name_that_resolves_inside_is_refused(app: Flask, dns: dict[str, list[str]]) -> None:
    dns["intranet.example.com"] = ["10.0.0.5"]
    # One private address among public ones is enough: the connection could pick it.
    dns["mixed.example.com"] = [PUBLIC, "127.0.0.1"]
    with app.test_request_context():
        assert "intranet.example.com points into a private network (10.0.0.5)" in _refusal(
            "https://intranet.example.com/hook"
        )
        assert "127.0.0.1" in _refusal("https://mixed.example.com/hook")


def test_a_public_address_is_cleaned_and_kept(app: Flask, dns: dict[str, list[str]]) -> None:
    dns["hooks.example.com"] = [PUBLIC, "2606:2800:220:1::1"]
    with app.test_request_context():
        assert ssrf.check_url("  HTTPS://Hooks.Example.com/In/Firstline?team=7#frag ") == (
            "https://hooks.example.com/In/Firstline?team=7"
        )
        target = ssrf.resolve("https://hooks.example.com:8443/in")
    assert (target.host, target.port, target.path) == ("hooks.example.com", 8443, "/in")
    assert target.addresses == [PUBLIC, "2606:2800:220:1::1"]


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("", "Enter the address"),
        ("ftp://hooks.example.com/x", "https://"),
        ("file:///etc/passwd", "https://"),
        ("javascript:alert(1)", "https://"),
        ("https:///no-host", "host name"),
        ("https://user:secret@hooks.example.com/x", "user name and password"),
        ("https://hooks.example.com:99999/x", "not a valid address"),
        ("https://nowhere.example.com/x", "could not be resolved"),
        ("https://hooks.example.com/" + "x" * 500, "too long"),
    ],
)
def test_malformed_addresses_are_refused_with_a_reason(
    app: Flask, dns: dict[str, list[str]], url: str, message: str
) -> None:
    dns["hooks.example.com"] = [PUBLIC]
    with app.test_request_context():
        assert message in _refusal(url)


def test_plain_http_only_where_allowed(app: Flask, dns: dict[str, list[str]], monkeypatch) -> None:
    dns["hooks.example.com"] = [PUBLIC]
    monkeypatch.setitem(app.config, "WEBHOOK_ALLOW_HTTP", False)
    with app.test_request_context():
        assert "starts with https://" in _refusal("http://hooks.example.com/x")
        assert ssrf.check_url("https://hooks.example.com/x") == "https://hooks.example.com/x"
    monkeypatch.setitem(app.config, "WEBHOOK_ALLOW_HTTP", True)
    with app.test_request_context():
        assert ssrf.check_url("http://hooks.example.com/x") == "http://hooks.example.com/x"


def test_private_addresses_only_when_the_installation_allows_them(app: Flask, monkeypatch) -> None:
    monkeypatch.setitem(app.config, "WEBHOOK_ALLOW_PRIVATE", True)
    with app.test_request_context():
        assert ssrf.check_url("http://127.0.0.1:8080/hook") == "http://127.0.0.1:8080/hook"


def test_defaults_refuse_private_addresses_everywhere_and_http_outside_development(tmp_path) -> None:
    development = config.load({"FIRSTLINE_INSTANCE": str(tmp_path)})
    production = config.load({"FIRSTLINE_INSTANCE": str(tmp_path), "FIRSTLINE_ENV": "production"})
    assert development["WEBHOOK_ALLOW_PRIVATE"] is production["WEBHOOK_ALLOW_PRIVATE"] is False
    assert (development["WEBHOOK_ALLOW_HTTP"], production["WEBHOOK_ALLOW_HTTP"]) == (True, False)
    assert production["WEBHOOK_TIMEOUT"] == 5
    loose = config.load({"FIRSTLINE_INSTANCE": str(tmp_path), "WEBHOOK_ALLOW_PRIVATE": "1"})
    assert "WEBHOOK_ALLOW_PRIVATE" in {finding.key for finding in config.check_production(loose)}

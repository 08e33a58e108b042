"""Security checks a reviewer would ask for, without services.

* API tokens are compared in constant time (inspection of the auth code path, and a
  recording ``compare_digest`` proving no early exit);
* hooks refuse non-http(s) and private targets by default, through the API too;
* camera sources registered through the API are network URIs unless local files
  are enabled in config;
* secrets (API tokens, hook secret, a secret in a hook URL, the DB password) never
  appear in captured logs or error messages.
"""

from __future__ import annotations

import ast
import inspect
import logging
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from connectors.hooks.base import UnsafeTargetError
from connectors.hooks.safety import check_target
from connectors.store import Store
from pipeline.errors import StoreError
from tests.unit.workers.api.scenarios import READ, WRITE, ApiHarness
from workers.api import auth

# ---------------------------------------------------------------- constant-time tokens


def _compares_with_eq(fn: object) -> list[str]:
    tree = ast.parse(textwrap.dedent(inspect.getsource(fn)))  # type: ignore[arg-type]
    return [
        ast.unparse(node)
        for node in ast.walk(tree)
        if isinstance(node, ast.Compare)
        and any(isinstance(o, ast.Eq | ast.NotEq | ast.In) for o in node.ops)
    ]


def test_token_checks_use_compare_digest_and_never_eq() -> None:
    assert "hmac.compare_digest" in inspect.getsource(auth._matches)
    for fn in (auth._matches, auth.TokenAuth.scopes, auth.require):
        assert _compares_with_eq(fn) == [], fn
    scopes_src = inspect.getsource(auth.TokenAuth.scopes)
    assert scopes_src.count("_matches(") == 2


def test_every_configured_token_is_compared_no_early_exit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[tuple[bytes, bytes]] = []
    real = auth.hmac.compare_digest

    def recording(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(auth.hmac, "compare_digest", recording)
    tokens = auth.TokenAuth.from_secrets(
        [SecretStr("r1")], [SecretStr("w1"), SecretStr("w2"), SecretStr("w3")]
    )
    assert tokens.scopes("w1") == frozenset(auth.Scope)
    assert [b for _, b in calls] == [b"w1", b"w2", b"w3"]  # matched first, still compared all
    calls.clear()
    assert tokens.scopes("nope") == frozenset()
    assert len(calls) == 4


# ---------------------------------------------------------------- hook targets

REFUSED_URLS = [
    "file:///etc/passwd",
    "ftp://example.com/x",
    "gopher://example.com/",
    "javascript:alert(1)",
    "http://127.0.0.1:8080/hook",
    "http://localhost/hook",
    "http://10.1.2.3/hook",
    "http://169.254.169.254/latest/meta-data/",
    "http://[::1]/hook",
    "http://[::ffff:127.0.0.1]/hook",
    "http://0.0.0.0/",
    "http://2130706433/",  # 127.0.0.1 as one number
    "http://127.1/",
]


@pytest.mark.parametrize("url", REFUSED_URLS)
def test_hooks_refuse_non_http_and_private_targets_by_default(url: str) -> None:
    with pytest.raises((UnsafeTargetError, OSError)):
        check_target(url, allow_private=False)


def test_a_name_resolving_inward_is_refused_and_allowed_only_when_configured() -> None:
    def inward(host: str, port: int) -> list[str]:
        return ["93.184.216.34", "192.168.1.5"]

    with pytest.raises(UnsafeTargetError, match="private or local address") as refused:
        check_target("https://hooks.example.com/x", allow_private=False, resolve=inward)
    assert "192.168.1.5" not in str(refused.value)  # what the name resolves to stays unsaid
    assert check_target("https://hooks.example.com/x", allow_private=True, resolve=inward)


@pytest.fixture
def harness(tmp_path: Path) -> Iterator[ApiHarness]:
    store = Store.from_url(f"sqlite:///{tmp_path / 'sec.db'}")
    yield ApiHarness(store)
    store.close()


@pytest.mark.parametrize(
    ("url", "status"),
    [("http://127.0.0.1:9/h", 403), ("file:///etc/passwd", 422), ("http://10.0.0.1/", 403)],
)
def test_api_refuses_private_hook_targets(harness: ApiHarness, url: str, status: int) -> None:
    """Not an http(s) URL: 422 (the schema says so); a private target: 403 (policy)."""
    resp = harness.call("POST", "/api/hooks", json={"url": url})
    assert resp.status_code == status, resp.text
    assert harness.call("GET", "/api/hooks").json() == []


# ---------------------------------------------------------------- camera sources

LOCAL_SOURCES = ["/etc/passwd", "file:///var/lib/x.mp4", "/dev/video0", "clip.mp4", "gopher://x/"]


@pytest.mark.parametrize("source", LOCAL_SOURCES)
def test_api_camera_sources_are_network_only_by_default(harness: ApiHarness, source: str) -> None:
    resp = harness.call("PUT", "/api/cameras/cam1", json={"source": source})
    assert resp.status_code == 422, resp.text
    assert resp.json()["detail"][0]["loc"] == ["body", "source"]


@pytest.mark.parametrize("source", ["rtsp://cams/dock", "https://cams/x.m3u8", "srt://1.2.3.4:9"])
def test_api_accepts_network_camera_sources(harness: ApiHarness, source: str) -> None:
    assert harness.call("PUT", "/api/cameras/cam1", json={"source": source}).status_code == 200


def test_local_sources_need_the_config_switch(tmp_path: Path) -> None:
    store = Store.from_url(f"sqlite:///{tmp_path / 'local.db'}")
    h = ApiHarness(store, api={"allow_local_sources": True})
    assert h.call("PUT", "/api/cameras/cam1", json={"source": "/dev/video0"}).status_code == 200
    store.close()


# ---------------------------------------------------------------- secrets in logs

HOOK_SECRET = "hook-hmac-S3CRET-value"
URL_SECRET = "url-token-S3CRET"
DB_PASSWORD = "db-pass-S3CRET"


def test_secrets_never_reach_logs_or_errors(
    harness: ApiHarness, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG)
    assert harness.call("GET", "/api/queries", "wrong-" + READ).status_code == 401
    assert harness.call("GET", "/api/queries", READ).status_code == 200
    body = {"url": f"http://127.0.0.1:9/h?token={URL_SECRET}", "secret": HOOK_SECRET}
    refused = harness.call("POST", "/api/hooks", json=body)
    assert refused.status_code == 403
    with pytest.raises(StoreError) as info:
        Store.from_url(f"postgresql+psycopg://fw:{DB_PASSWORD}@127.0.0.1:9/fw?connect_timeout=2")
    texts = [caplog.text, str(info.value), refused.text, *capsys.readouterr()]
    for secret in (HOOK_SECRET, URL_SECRET, DB_PASSWORD, READ, WRITE):
        assert all(secret not in t for t in texts), secret

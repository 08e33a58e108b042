"""Security end to end: markup stays text in real Chromium; secrets stay out of logs.

1. The dashboard over a store whose question, answer text (a VLM's output is
   untrusted too) and model ids carry markup: every string shows literally, no
   element is injected, no script runs, and the page is served with a strict CSP.
2. ``feedwatch run`` with a signed hook whose URL holds a token, a PostgreSQL URL
   with a password, and API tokens in the environment, at DEBUG: neither its output
   nor its logs contain any of those values.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from connectors.bus import messages as msg
from connectors.store import Store
from connectors.store.dead_letters import DeadLetterLog, Placed
from connectors.store.secret_box import new_key
from pipeline.types import Answer
from tests.e2e.dashboard import CHROMIUM, CHROMIUM_ARGS, need_chromium, serve
from tests.unit.workers.api.scenarios import READ, ApiHarness

pytestmark = [pytest.mark.e2e]

QUESTION = "<img src=x onerror=window.__xss=1> is the <b>gate</b> open?"
ANSWER = "<script>window.__xss=2</script><svg onload=window.__xss=3>yes</svg>"
MODEL = "<iframe src=javascript:window.__xss=4>"
T0 = 1_764_000_000.0


def _answer(qid: str, end: float) -> Answer:
    return Answer(
        qid,
        QUESTION,
        "dock",
        end - 4,
        end,
        end,
        "clip",
        ANSWER,
        True,
        0.4,
        (end - 1,),
        ((0.1, 0.1, 0.5, 0.5),),
        100,
        5.0,
        {"clip": MODEL},
    )


def _dead_letter() -> Placed:
    """A dead letter whose camera and error carry markup (a hostile record's text)."""
    m = msg.encode_deadletter((b"k", b"v", []), ValueError(ANSWER), stage="perceive",
                              topic="feedwatch.segments", camera=MODEL, partition=0, offset=1)
    return Placed(0, 1, T0, msg.decode_deadletter(m.key, m.value, m.headers))


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[ApiHarness, str]]:
    need_chromium()
    pytest.importorskip("playwright.sync_api")
    store = Store.from_url(f"sqlite:///{tmp_path / 'sec.db'}")
    yield from serve(ApiHarness(store, api={"sse_poll_s": 0.5}))


def test_dashboard_renders_markup_as_text(served: tuple[ApiHarness, str]) -> None:
    from playwright.sync_api import sync_playwright

    h, url = served
    h.store.upsert_camera("dock", "rtsp://cams/dock")
    qid = h.create(QUESTION, cameras=["dock"])["id"]
    h.store.insert_answers([_answer(qid, T0 + 4 + i) for i in range(3)])
    DeadLetterLog(h.store.engine).record([_dead_letter()])
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            response = page.goto(url)
            assert response is not None
            csp = response.headers.get("content-security-policy", "")
            assert "script-src 'self'" in csp and "unsafe-inline" not in csp
            page.fill("#token", READ)
            page.click("#token-form button")
            card = page.locator(f"article.card[data-query-id='{qid}']")
            card.wait_for(timeout=15_000)
            page.get_by_text(QUESTION).first.wait_for(timeout=10_000)
            page.get_by_text(ANSWER).first.wait_for(timeout=10_000)
            assert page.evaluate("window.__xss") is None
            injected = "img[src=x], script:not([src]), svg[onload], iframe, b"
            assert page.locator(f"main {injected}, #app {injected}").count() == 0
            assert QUESTION in page.inner_text("body")
            page.get_by_text(f"ValueError: {ANSWER}").wait_for(timeout=10_000)  # a dead letter
            assert page.evaluate("window.__xss") is None
            assert MODEL in page.inner_text("#deadletters")
            assert page.locator(f"#deadletters {injected}").count() == 0
        finally:
            browser.close()


HOOK_SECRET = "hook-hmac-E2E-S3CRET"
URL_TOKEN = "url-token-E2E-S3CRET"
SECRETS_KEY = new_key()
DB_PASSWORD = "db-pass-E2E-S3CRET"
API_TOKEN = "api-token-E2E-S3CRET"


@pytest.mark.integration
def test_run_keeps_secrets_out_of_output_and_logs(
    fresh_postgres_url: str, tiny_h264_clip: Path, tmp_path: Path
) -> None:
    import sqlalchemy as sa

    from pipeline.models.clip_encoder import shapes_demo_dir
    from workers.soak.receiver import SoakReceiver
    from workers.soak.stack import tiny_clip

    db_url = sa.make_url(fresh_postgres_url).set(password=DB_PASSWORD)
    db_url = db_url.render_as_string(hide_password=False)
    clip_spec = "shapes-demo"
    if not (shapes_demo_dir() / "open_clip_config.json").is_file():
        clip_spec = tiny_clip(tmp_path)
    receiver = SoakReceiver(HOOK_SECRET).start()
    env = {
        **os.environ,
        "FEEDWATCH_LOG_LEVEL": "DEBUG",
        "FEEDWATCH_API_READ_TOKENS": API_TOKEN,
        "FEEDWATCH_API_WRITE_TOKENS": API_TOKEN + "-w",
        "FEEDWATCH_HOOKS_WAIT_ON_EXIT_S": "10",
        "FEEDWATCH_SECRETS_KEY": SECRETS_KEY,  # seals the hook secret; never shown either
    }
    args = [
        "run", str(tiny_h264_clip), "--ask", "a red circle", "--every", "1s", "--window", "1s",
        "--db", db_url, "--clip", clip_spec,
        "--hook", f"{receiver.url}?token={URL_TOKEN}", "--hook-secret", HOOK_SECRET,
        "--hook-allow-private", "--open-after", "1", "--close-after", "1", "--json",
    ]  # fmt: skip
    try:
        proc = subprocess.run(
            [sys.executable, "-c",
             "import sys; from workers.cli.main import main; sys.exit(main())", *args],
            capture_output=True, text=True, timeout=600, env=env, check=False,
        )  # fmt: skip
    finally:
        receiver.stop()
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-3000:]
    assert "connectors.video" in proc.stderr, "the run logged (at DEBUG for feedwatch packages)"
    for secret in (HOOK_SECRET, URL_TOKEN, DB_PASSWORD, API_TOKEN, SECRETS_KEY):
        assert secret not in output, f"{secret} leaked:\n{output[-2000:]}"

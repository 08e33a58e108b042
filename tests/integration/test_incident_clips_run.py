"""`feedwatch run --hook` cuts each incident's clip from its own segments, and the
receiver opens the notification's clip and snapshot links without a token.

Perception runs with :class:`pipeline.testing.ColourEncoder` (as in
test_alerts_run.py) and a fixed threshold: this checks the wiring — ring, clip
worker, store, signed links served by an API process on the same store — not CLIP
quality.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import av
import httpx
import pytest
from alerts_receiver import Receiver

from connectors.store import Store
from connectors.store.clips import ClipStore
from connectors.store.secret_box import new_key
from pipeline.testing import ColourEncoder
from tests.scene_clips import red_circle_clip
from workers.api import serve_in_thread
from workers.api.app import create_app
from workers.cli.main import main
from workers.config import load_settings

VISIBLE = (6.0, 13.0)


@pytest.fixture
def colour_clip(monkeypatch: pytest.MonkeyPatch) -> None:
    import pipeline.models.clip_encoder as clip_encoder

    monkeypatch.setattr(
        clip_encoder.ClipEncoder, "from_spec",
        classmethod(lambda cls, spec, device="auto", **_: ColourEncoder()))
    monkeypatch.delenv("FEEDWATCH_HOOKS_ALLOW_PRIVATE", raising=False)
    monkeypatch.setenv("FEEDWATCH_SECRETS_KEY", new_key())  # the hook secret, the link key


def test_run_cuts_incident_clips_and_the_links_open_without_a_token(
        tmp_path: Path, colour_clip: None, monkeypatch: pytest.MonkeyPatch) -> None:
    clip = red_circle_clip(tmp_path / "red.mp4", [VISIBLE], distractors=0, seed=3, duration=22.0)
    db = f"sqlite:///{tmp_path / 'run.db'}"
    monkeypatch.setenv("FEEDWATCH_CLIPS_DIR", str(tmp_path / "clips"))
    monkeypatch.setenv("FEEDWATCH_STORE_URL", db)
    monkeypatch.setenv("FEEDWATCH_API_READ_TOKENS", '["a-read-token"]')
    store = Store.from_url(db)
    api = serve_in_thread(create_app(load_settings(), store))
    public = f"http://127.0.0.1:{api.port}"
    monkeypatch.setenv("FEEDWATCH_HOOKS_PUBLIC_URL", public)
    receiver = Receiver("hook-secret", lambda key, n: ("ok",)).start()
    try:
        assert main(["run", str(clip), "--ask", "a red circle", "--every", "1s", "--window",
                     "1s", "--sample-fps", "4", "--json", "--db", db, "--hook", receiver.url,
                     "--hook-secret", "hook-secret",
                     "--open-after", "2", "--close-after", "2", "--hook-allow-private",
                     "--set", "threshold=0.3"]) == 0
        bodies = [json.loads(h.body) for h in receiver.hits if h.processed]
        check_clips(bodies, store, public)
    finally:
        receiver.stop()
        api.stop()
        store.close()


def check_clips(bodies: list[dict], store: Store, public: str) -> None:
    body = bodies[0]
    incident = body["incident"]["id"]
    assert body["clip_state"] in ("pending", "ready")  # an opening never waits for its clip
    # an opening that said pending is followed by clip_ready once a clip settled (sent
    # by the run's drain when the clip was cut before it, else left stored)
    follow = ["clip_ready"] if body["clip_state"] == "pending" else []
    events = [b["event"] for b in bodies]
    assert events in (["opened"], ["opened", *follow])
    for ready in bodies[1:]:
        assert ready["incident"]["id"] == incident and ready["clip_state"] == "ready"
        assert httpx.get(ready["clip_url"]).status_code == 200
    assert body["clip_url"].startswith(f"{public}/links/incidents/{incident}/clip.mp4?exp=")
    rows = ClipStore(store.engine).clips(incident)
    # the opening clip is skipped when the incident closed before its post-roll was
    # recorded: a file run can outpace the clip worker on a loaded machine
    assert rows["close"].state == "ready" and rows["open"].state in ("ready", "skipped")
    got = httpx.get(body["clip_url"])  # the receiver has no token
    assert got.status_code == 200 and got.headers["content-type"] == "video/mp4"
    close = rows["close"]
    assert len(got.content) == close.bytes
    with av.open(io.BytesIO(got.content)) as c:
        stream = c.streams.video[0]
        assert stream.codec_context.name == "h264"
        packets = [p for p in c.demux(stream) if p.size]
        assert packets[0].is_keyframe and len(packets) == close.frames
        assert float(stream.duration * stream.time_base) == pytest.approx(close.duration)
    started = body["incident"]["started_at"]
    assert close.start <= started - 5.0 and close.start + close.event_at == started
    assert close.start + close.duration >= VISIBLE[1] + 5.0  # the close and its post-roll
    snap = httpx.get(body["snapshot_url"])
    assert snap.status_code == 200 and snap.headers["content-type"] == "image/jpeg"
    assert httpx.get(body["clip_url"].replace("exp=", "exp=1")).status_code == 403
    assert httpx.get(f"{public}/api/incidents/{incident}/clip").status_code == 401

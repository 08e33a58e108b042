"""Signed clip and snapshot links: they open without the token until they expire, only
for the path they sign, on any API process of the same store; notifications carry them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import select

from connectors.hooks.base import HookMessage
from connectors.hooks.links import LinkSigner, clip_path
from connectors.hooks.slack import blocks
from connectors.hooks.webhook import WebhookChannel
from connectors.store import Store
from connectors.store.clip_links import IncidentLinks
from connectors.store.clips import ClipFiles, ClipStore, link_key
from connectors.store.models import AnswerRow
from connectors.store.secret_box import SecretBox, new_key
from connectors.video.ring import SegmentRing
from pipeline.errors import ConfigError
from tests.unit.workers.api.scenarios import READ, answer, settings
from tests.unit.workers.incident_clips.incidents import add_incident, recorded_scene
from workers.api.app import create_app
from workers.config import ClipsSettings, HooksSettings, Settings
from workers.incident_clips.service import ClipPolicy, ClipWorker

PUBLIC = "http://testserver"
KEY = new_key()  # keeps the generated link key sealed in the store
BOX = SecretBox([KEY.encode()])


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Store]]:
    """A store with one incident (its opening answer has evidence) and its clip cut."""
    root = tmp_path_factory.mktemp("links")
    store = Store.from_url(f"sqlite:///{root / 'f.db'}")
    store.insert_answers([answer("q1", "cam", 14.0)])
    with store.engine.connect() as conn:
        answer_id = conn.execute(select(AnswerRow.id)).scalar_one()
    add_incident(store, "inc-1", started=12.0, opened=14.0, answer_id=answer_id)
    add_incident(store, "inc-2", started=30.0, opened=31.0)
    ring = SegmentRing()
    for s in recorded_scene(root, seconds=20.0):
        ring.add(s)
    ring.end("cam")
    worker = ClipWorker(ClipStore(store.engine), ClipFiles.from_config(root / "clips"), ring,
                        ClipPolicy(2.0, 2.0))
    assert worker.run_once() == 2  # inc-2: its segments were never recorded
    yield root, store
    store.close()


def app_settings(root: Path) -> Settings:
    base = settings()
    return base.model_copy(update={
        "clips": ClipsSettings(dir=str(root / "clips")), "secrets_key": SecretStr(KEY),
        "hooks": HooksSettings(public_url=PUBLIC)})


def client(folder: tuple[Path, Store]) -> TestClient:
    root, store = folder
    return TestClient(create_app(app_settings(root), store))


def links(c: TestClient, incident: str = "inc-1") -> dict[str, str]:
    got = c.get(f"/api/incidents/{incident}/clips", headers={"Authorization": f"Bearer {READ}"})
    assert got.status_code == 200
    return got.json()


def test_signed_links_open_the_clip_and_the_snapshot_without_a_token(folder) -> None:
    c = client(folder)
    body = links(c)
    assert [x["phase"] for x in body["clips"]] == ["open"] and body["clips"][0]["state"] == "ready"
    clip = c.get(body["clip_url"].removeprefix(PUBLIC))
    assert clip.status_code == 200 and clip.headers["content-type"] == "video/mp4"
    assert clip.content[4:8] == b"ftyp" and len(clip.content) == body["clips"][0]["bytes"]
    part = c.get(body["clip_url"].removeprefix(PUBLIC), headers={"Range": "bytes=0-99"})
    assert part.status_code == 206 and len(part.content) == 100  # a <video> can seek
    snap = c.get(body["snapshot_url"].removeprefix(PUBLIC))
    assert snap.status_code == 200 and snap.headers["content-type"] == "image/jpeg"
    assert snap.content[:2] == b"\xff\xd8"
    assert c.get("/api/incidents/inc-1/clip").status_code == 401  # the token route needs one
    auth = {"Authorization": f"Bearer {READ}"}
    assert c.get("/api/incidents/inc-1/clip", headers=auth).content == clip.content


def test_a_changed_expired_or_missing_signature_is_refused(folder) -> None:
    c = client(folder)
    url = links(c)["clip_url"].removeprefix(PUBLIC)
    path, query = url.split("?")
    exp, sig = (kv.split("=")[1] for kv in query.split("&"))
    assert c.get(path).status_code == 403
    assert c.get(f"{path}?exp={exp}&sig={sig[:-2]}AA").status_code == 403
    assert c.get(f"{path}?exp={int(exp) + 1}&sig={sig}").status_code == 403
    assert c.get(f"{path}?exp={exp}&sig=%C3%A9%C3%A9").status_code == 403  # was a 500
    spelled = f"{exp[:3]}_{exp[3:]}"  # int() reads it as the same number
    assert c.get(f"{path}?exp={spelled}&sig={sig}").status_code == 403
    other = clip_path("inc-2")
    assert c.get(f"{other}?exp={exp}&sig={sig}").status_code == 403  # signed for inc-1 only
    key = link_key(folder[1].engine, secrets=BOX)
    stale = LinkSigner(key, ttl=60.0, clock=lambda: 1000.0).url(clip_path("inc-1"))
    assert c.get(stale).status_code == 403  # expired long ago
    assert c.get(url).status_code == 200


def test_another_api_process_on_the_same_store_opens_the_link(folder) -> None:
    url = links(client(folder))["snapshot_url"].removeprefix(PUBLIC)
    assert client(folder).get(url).status_code == 200


def test_the_clips_of_an_incident_that_does_not_exist_are_a_404(folder) -> None:
    got = client(folder).get("/api/incidents/inc-nope/clips",
                             headers={"Authorization": f"Bearer {READ}"})
    assert got.status_code == 404 and "inc-nope" in got.text and "clip_url" not in got.text


def test_a_link_key_file_that_cannot_be_read_stops_the_api_at_start(folder) -> None:
    """It started, and only the first link warned that links were off."""
    root, store = folder
    bad = app_settings(root).model_copy(update={"link_key_file": str(root / "missing.key")})
    with pytest.raises(ConfigError, match="link_key_file"):
        create_app(bad, store)


def test_an_incident_whose_segments_were_gone_says_so(folder) -> None:
    c = client(folder)
    body = links(c, "inc-2")
    assert body["clips"][0]["state"] == "expired"
    got = c.get(body["clip_url"].removeprefix(PUBLIC))
    assert got.status_code == 404 and "expired" in got.json()["detail"]


def test_notifications_carry_the_links_and_the_clip_state(folder) -> None:
    root, store = folder
    made = IncidentLinks.from_config(store.engine, PUBLIC, 3600.0, secrets=BOX)
    assert made is not None and IncidentLinks.from_config(store.engine, "", 3600.0) is None
    message = HookMessage(
        event="opened", incident_id="inc-1", incident_state="open", rule_id="r1",
        query_id="q1", question="a red circle?", camera="cam", window_start=10.0,
        window_end=14.0, answer="yes", matched=True, score=0.3, started_at=12.0, opened_at=14.0)
    sent = made.decorate(message)
    body = json.loads(WebhookChannel().render(sent, "k", 0)[0])
    assert body["clip_state"] == "ready"
    assert body["clip_url"].startswith(f"{PUBLIC}/links/incidents/inc-1/clip.mp4?exp=")
    assert body["snapshot_url"].startswith(f"{PUBLIC}/links/incidents/inc-1/snapshot.jpg?")
    assert client(folder).get(body["snapshot_url"].removeprefix(PUBLIC)).status_code == 200
    images = [b for b in blocks(sent) if b["type"] == "image"]
    assert images == [{"type": "image", "image_url": sent.snapshot_url, "alt_text": "snapshot"}]
    pending = made.decorate(HookMessage(**{**message.to_dict(), "incident_id": "inc-9"}))
    assert pending.clip_state == "pending"


def test_a_configured_key_is_used_and_a_short_one_refused(folder) -> None:
    assert link_key(folder[1].engine, "k" * 32) == b"k" * 32
    with pytest.raises(ConfigError, match="link_key"):
        LinkSigner(b"short")


def test_without_any_key_no_link_is_issued_or_accepted(folder) -> None:
    root, store = folder
    bare = settings().model_copy(update={
        "clips": ClipsSettings(dir=str(root / "clips")), "hooks": HooksSettings(public_url=PUBLIC),
        "secrets_key": SecretStr(""), "link_key": SecretStr("")})
    c = TestClient(create_app(bare, store))
    body = links(c)
    assert body["clip_url"] is None and body["snapshot_url"] is None
    signed = links(client(folder))["clip_url"].removeprefix(PUBLIC)
    assert c.get(signed).status_code == 403

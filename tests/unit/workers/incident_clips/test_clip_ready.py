"""``clip_ready``: an ``opened`` notification sent before its clip is followed, once per
incident and hook, by a notification with the clip's links and state; one sent after
the clip settled is not. Real SQLite store, the real evaluator, outbox, delivery worker
and clip worker over a recorded scene; the hooks answer through httpx.MockTransport."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from connectors.hooks.delivery import DeliverySchedule, Sender
from connectors.hooks.links import LinkSigner
from connectors.store import Store
from connectors.store.alerts_models import AlertStateRow
from connectors.store.alerts_outbox import Outbox
from connectors.store.alerts_repo import AlertStore
from connectors.store.clip_followup import KIND, ClipFollowUp
from connectors.store.clip_links import IncidentLinks
from connectors.store.clips import ClipFiles, ClipStore, ClipTask
from connectors.store.retention import Pruner, RetentionPolicy
from connectors.store.secret_box import SecretBox, new_key
from connectors.video.ring import SegmentRing
from pipeline.alerts.model import Rule
from tests.unit.workers.api.scenarios import answer
from tests.unit.workers.incident_clips.incidents import add_incident, recorded_scene
from workers.alerts.delivery import DeliveryWorker
from workers.alerts.engine import Evaluator
from workers.incident_clips.service import ClipPolicy, ClipWorker

PUBLIC_IP = "93.184.216.34"
PUBLIC = "https://feedwatch.example"
KEY = b"clip-ready-test-link-key-0123456789"
SECRETS = SecretBox([new_key().encode()])  # a Slack hook's URL is stored sealed


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory) -> list[Any]:
    """20 s of the scene generator, cut into segments (a red circle from 12 s)."""
    return recorded_scene(tmp_path_factory.mktemp("scene"), seconds=20.0)


class Hooks:
    """A webhook and a Slack hook on one rule; what each received, in order."""

    def __init__(self, store: Store, folder: Path, segments: list[Any],
                 clips: ClipStore | None = None) -> None:
        self.store, self.received = store, []
        alerts = AlertStore(store.engine, SECRETS)
        resolve = lambda h, p: [PUBLIC_IP]  # noqa: E731
        self.web = alerts.add_hook("https://hooks.example/w", resolve=resolve)["id"]
        self.slack = alerts.add_hook("https://hooks.example/s", type="slack",
                                     resolve=resolve)["id"]
        alerts.add_rule(Rule("r1", "q1", hooks=(self.web, self.slack), open_after=1,
                             close_after=1, notify_close=True))
        self.outbox = Outbox(store.engine)
        links = IncidentLinks(LinkSigner(KEY, PUBLIC, 600.0), clips or ClipStore(store.engine))
        client = httpx.Client(transport=httpx.MockTransport(self._receive))
        self.sender = DeliveryWorker(self.outbox, Sender(client, resolve=resolve),
                                     DeliverySchedule(base=0.01), lease_s=5.0,
                                     rng=random.Random(0), decorate=links.decorate,
                                     secrets=SECRETS)
        ring = SegmentRing()
        for s in segments:
            ring.add(s)
        ring.end("cam")
        self.clipper = ClipWorker(ClipStore(store.engine), ClipFiles.from_config(folder / "c"),
                                  ring, ClipPolicy(2.0, 2.0))

    def _receive(self, request: httpx.Request) -> httpx.Response:
        self.received.append((request.url.path, json.loads(request.content)))
        return httpx.Response(200)

    def evaluate(self, *windows: tuple[float, bool]) -> None:
        self.store.insert_answers([answer("q1", "cam", t, matched=m) for t, m in windows])
        Evaluator(self.outbox).run_once()

    def deliver(self) -> None:
        while self.sender.run_once():
            pass

    def bodies(self, path: str) -> list[dict[str, Any]]:
        return [b for p, b in self.received if p == path]

    def marks(self) -> int:
        with self.store.engine.connect() as conn:
            rows = conn.execute(AlertStateRow.__table__.select().where(
                AlertStateRow.__table__.c.kind == KIND)).all()
            return len(rows)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store.from_url(f"sqlite:///{tmp_path / 'a.db'}")
    yield s
    s.close()


def _signed(url: str, path_tail: str) -> bool:
    path, _, query = url.removeprefix(PUBLIC).partition("?")
    exp, sig = (kv.split("=", 1)[1] for kv in query.split("&"))
    return path.endswith(path_tail) and LinkSigner(KEY, PUBLIC).valid(path, exp, sig)


def test_an_opening_sent_before_its_clip_is_followed_by_clip_ready_once(
        store: Store, tmp_path: Path, scene: list[Any]) -> None:
    h = Hooks(store, tmp_path, scene)
    h.evaluate((11.0, False), (13.0, True))
    h.deliver()
    [opened] = h.bodies("/w")
    assert (opened["event"], opened["clip_state"]) == ("opened", "pending")
    assert h.clipper.run_once(final=True) == 1  # the opening clip
    h.deliver()
    web = h.bodies("/w")
    assert [b["event"] for b in web] == ["opened", "clip_ready"]
    ready = web[1]
    assert ready["clip_state"] == "ready" and ready["incident"]["id"] == opened["incident"]["id"]
    assert _signed(ready["clip_url"], "/clip.mp4") and _signed(ready["snapshot_url"],
                                                                "/snapshot.jpg")
    slack = h.bodies("/s")
    assert slack[-1]["text"].startswith(":movie_camera: Clip ready for the incident on *cam*")
    clip_link = [e["text"] for b in slack[-1]["blocks"] if b["type"] == "context"
                 for e in b["elements"]]
    assert any(ready["clip_url"].split("?")[0] in t for t in clip_link)
    assert h.marks() == 0
    h.evaluate((15.0, False))  # closes; its closing clip settles too: no second clip_ready
    assert h.clipper.run_once(final=True) == 1
    h.deliver()
    assert [b["event"] for b in h.bodies("/w")] == ["opened", "clip_ready", "closed"]
    assert [b["clip_state"] for b in h.bodies("/w")] == ["pending", "ready", "ready"]


def test_an_opening_sent_after_its_clip_says_ready_and_is_not_followed(
        store: Store, tmp_path: Path, scene: list[Any]) -> None:
    h = Hooks(store, tmp_path, scene)
    h.evaluate((13.0, True))
    assert h.clipper.run_once(final=True) == 1
    h.deliver()
    assert [(b["event"], b["clip_state"]) for b in h.bodies("/w")] == [("opened", "ready")]
    assert h.clipper.run_once(final=True) == 0
    h.deliver()
    assert len(h.received) == 2 and h.marks() == 0  # one opening per hook, nothing more


def test_segments_already_gone_are_said_in_the_clip_ready(
        store: Store, tmp_path: Path, scene: list[Any]) -> None:
    h = Hooks(store, tmp_path, [s for s in scene if s.start >= 16.0])  # 11-15 s is gone
    h.evaluate((13.0, True))
    h.deliver()
    assert h.clipper.run_once(final=True) == 1
    h.deliver()
    [opened, ready] = h.bodies("/w")
    assert opened["clip_state"] == "pending"
    assert (ready["event"], ready["clip_state"]) == ("clip_ready", "expired")
    assert h.bodies("/s")[-1]["text"].startswith(
        ":movie_camera: No clip: the recording had expired for the incident on *cam*")


class LateRead(ClipStore):
    """The clip worker saves the clip between the opening's first read of the clip state
    and its mark: the first ``best`` runs it, then answers what it saw before."""

    worker: ClipWorker | None = None

    def best(self, incident_id: str) -> Any:
        if self.worker is not None:
            worker, self.worker = self.worker, None
            assert worker.run_once(final=True) == 1  # saved; no mark yet: nothing queued
            return None
        return super().best(incident_id)


def test_a_clip_saved_while_the_opening_is_sent_is_still_followed(
        store: Store, tmp_path: Path, scene: list[Any]) -> None:
    late = LateRead(store.engine)
    h = Hooks(store, tmp_path, scene, clips=late)
    late.worker = h.clipper
    h.evaluate((13.0, True))
    h.deliver()
    events = [(b["event"], b["clip_state"]) for b in h.bodies("/w")]
    # the opening read the clip again after its mark and says ready; the follow-up is
    # queued as well (the clip worker found no mark), redundant but never missing
    assert events == [("opened", "ready"), ("clip_ready", "ready")]
    assert len(h.bodies("/s")) == 2 and h.marks() == 0


def test_an_opening_whose_clip_was_skipped_says_pending_and_the_closing_clip_follows(
        store: Store) -> None:
    # a file run outpaced the clip worker: the incident closed before its opening clip
    # was cut, so that clip was skipped and the closing one is still to come
    add_incident(store, "fast", started=4.0, opened=5.0, closed=8.0)
    ClipStore(store.engine).save(ClipTask("fast", "open", "cam", 4.0, 5.0, 8.0), "skipped")
    follow = ClipFollowUp(store.engine)
    assert follow.state("fast") == "skipped"
    assert follow.opened_pending("fast") == "pending"  # marked: clip_ready will follow
    with store.engine.connect() as conn:
        marks = conn.execute(AlertStateRow.__table__.select().where(
            AlertStateRow.kind == KIND)).all()
    assert [m.key for m in marks] == ["fast"]


def test_retention_removes_the_marks_of_pruned_incidents(store: Store) -> None:
    add_incident(store, "gone", started=4.0, opened=5.0, closed=8.0)
    add_incident(store, "kept", started=30.0, opened=31.0, closed=34.0)
    follow = ClipFollowUp(store.engine)
    assert [follow.opened_pending(i) for i in ("gone", "kept")] == ["pending", "pending"]
    assert Pruner(store.engine, RetentionPolicy(incidents=20.0)).prune().deleted[
        "incidents"] == 1
    with store.engine.connect() as conn:
        table = AlertStateRow.__table__
        keys = conn.execute(table.select().where(table.c.kind == KIND)).all()
    assert [k.key for k in keys] == ["kept"]

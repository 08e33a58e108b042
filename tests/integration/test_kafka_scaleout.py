"""The scale-out run on the real broker and real PostgreSQL, as operators run it.

One scenario (module fixture), several checks. Four synthetic cameras are ingested
in real time by four ``feedwatch ingest --kafka`` processes; two ``feedwatch
worker`` processes share the group. While it runs: a question is added, a corrupt
segment and a malformed message are injected, the question is removed, and one
worker is killed with SIGKILL. Afterwards the answers in PostgreSQL are compared
with the due windows of the segments in the topic and with the embedded run's
Perceiver on the very same segments.
"""

from __future__ import annotations

import re
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from kafka import KafkaProducer

from connectors.bus import messages as msg
from connectors.kafka import partition_for
from pipeline.types import Answer, Segment
from workers.soak.cluster import Cluster, Proc, spread_cameras
from workers.soak.report import read_topic

PARTITIONS = 4
SECONDS = 22.0
EVERY, WINDOW, SEGMENT_S, FPS = 1.0, 2.0, 1.0, 2.0
SLACK = 1.5  # scheduling/processing lag allowed on top of one segment + one interval


def tiny_clip_spec(tmp: Path) -> str:
    """The bundled shapes-demo CLIP if it is there, else a tiny random open_clip folder."""
    from pipeline.models.clip_encoder import shapes_demo_dir

    if (shapes_demo_dir() / "open_clip_config.json").is_file():
        return "shapes-demo"
    from pipeline.models.tiny import save_tiny_clip

    return save_tiny_clip(tmp)


@dataclass
class Outcome:
    cluster: Cluster
    cameras: list[str]
    workers: dict[str, Proc]
    killed: str
    owned_before: dict[str, set[str]]
    t_add: float
    t_remove: float
    t_kill: float
    corrupt: tuple[str, int, int]  # camera, partition, offset
    junk: tuple[int, int]
    segments: dict[str, list[Segment]] = field(default_factory=dict)
    answers: list[Answer] = field(default_factory=list)
    deadletters: list[msg.DeadLetter] = field(default_factory=list)
    stored_letters: list[Any] = field(default_factory=list)  # the sink's dead_letters rows
    clip_spec: str = ""
    timeline: list[tuple[str, float]] = field(default_factory=list)


def _owned(text: str) -> set[str]:
    return set(re.findall(r"camera (\S+): warmed", text))


def _inject(
    bootstrap: str, topic: str, camera: str
) -> tuple[tuple[str, int, int], tuple[int, int]]:
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
    now = time.time()
    bad = Segment(camera, 9999, now, SEGMENT_S, b"\x00not an mpeg-ts segment" * 50)
    key, value, headers = msg.encode_segment(bad)
    part = partition_for(camera, PARTITIONS)
    md = producer.send(topic, key=key, value=value, headers=headers, partition=part).get(30)
    junk = producer.send(topic, key=camera.encode(), value=b"junk", partition=part).get(30)
    producer.close()
    return (camera, md.partition, md.offset), (junk.partition, junk.offset)


def _wait_until_owned(workers: dict[str, Proc], cameras: list[str], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if set().union(*(_owned(w.text()) for w in workers.values())) >= set(cameras):
            return
        time.sleep(0.2)
    raise TimeoutError("the workers did not pick up every camera")


def _wait_for_all_windows(out: Outcome, store: Any, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = {(a.camera, a.window_end) for a in store.answers(query_id="q1")}
        last = {c: max(s.end for s in segs) for c, segs in out.segments.items()}
        if all((c, float(int(last[c] + 1e-6))) in got for c in out.cameras):
            return
        time.sleep(0.5)


@pytest.fixture(scope="module")
def outcome(
    kafka_service: Any, postgres_service: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Outcome]:
    import sqlalchemy as sa

    from connectors.store import Store
    from pipeline.scenes import scripted_scene, write_clip

    timeline: list[tuple[str, float]] = [("start", time.time())]
    for service in (kafka_service, postgres_service):
        if not service.running:
            service.start()
    kafka_bootstrap, postgres_url = kafka_service.bootstrap, postgres_service.url
    tmp = tmp_path_factory.mktemp("scaleout")
    db = f"fw_scaleout_{int(time.time())}"
    admin = sa.create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{db}"'))
    db_url = str(sa.make_url(postgres_url).set(database=db))
    spec = tiny_clip_spec(tmp)
    cluster = Cluster(
        kafka_bootstrap,
        db_url,
        tmp,
        env={
            "FEEDWATCH_KAFKA_PARTITIONS": str(PARTITIONS),
            "FEEDWATCH_KAFKA_SESSION_TIMEOUT_S": "6",
            "FEEDWATCH_KAFKA_HEARTBEAT_INTERVAL_S": "1",
            "FEEDWATCH_KAFKA_COMMIT_INTERVAL_S": "0.5",
            "FEEDWATCH_PERCEPTION_CLIP": spec,
            "FEEDWATCH_PERCEPTION_SAMPLE_FPS": str(FPS),
            "FEEDWATCH_PERCEPTION_DEVICE": "cpu",
        },
    )
    cameras = spread_cameras(4, PARTITIONS)
    scene = scripted_scene(
        ("red", "circle"),
        [(4.0, 9.0)],
        distractors=1,
        seed=0,
        duration=SECONDS,
        size=(320, 240),
        fps=4,
    )
    clip = write_clip(scene, tmp / "scene.mp4", fps=4, keyframe_interval_s=1.0)
    try:
        timeline.append(("clips", time.time()))
        cluster.run(
            "queries", "add", "a red circle", "--id", "q1", "--every", "1s", "--window", "2s"
        )
        workers = {"w1": cluster.worker("w1"), "w2": cluster.worker("w2")}
        for w in workers.values():
            cluster.wait_for_log(w, "queries table ready", timeout=120)
        timeline.append(("workers ready", time.time()))
        time.sleep(3)  # the second join's rebalance
        for cam in cameras:
            cluster.ingest(cam, str(clip), SEGMENT_S)
        _wait_until_owned(workers, cameras, timeout=60)
        t0 = time.time()
        cluster.run(
            "queries", "add", "a blue square", "--id", "q2", "--every", "1s", "--window", "2s"
        )
        t_add = time.time()
        owned = {n: _owned(w.text()) for n, w in workers.items()}
        victim = "w1" if owned["w1"] else "w2"
        survivor = "w2" if victim == "w1" else "w1"
        target = sorted(owned[survivor] or cameras)[0]
        corrupt, junk = _inject(kafka_bootstrap, f"{cluster.prefix}segments", target)
        time.sleep(max(0.0, t0 + 4 - time.time()))
        cluster.run("queries", "remove", "q2")
        t_remove = time.time()
        owned = {n: _owned(w.text()) for n, w in workers.items()}
        Cluster.kill9(workers[victim])
        t_kill = time.time()
        timeline.append(("ingest", t0))
        timeline += [("q2 added", t_add), ("q2 removed", t_remove), ("kill -9", t_kill)]
        out = Outcome(
            cluster,
            cameras,
            workers,
            victim,
            owned,
            t_add,
            t_remove,
            t_kill,
            corrupt,
            junk,
            clip_spec=spec,
            timeline=timeline,
        )
        for proc in cluster.procs:
            if proc.name.startswith("ingest"):
                proc.popen.wait(timeout=SECONDS + 40)
        for r in read_topic(kafka_bootstrap, f"{cluster.prefix}segments"):
            try:
                seg = msg.decode_segment(r.key, r.value, r.headers)
            except msg.MessageError:
                continue
            if seg.seq != 9999:
                out.segments.setdefault(seg.camera, []).append(seg)
        timeline.append(("ingest done", time.time()))
        store = Store.from_url(db_url, upgrade=False)
        _wait_for_all_windows(out, store, timeout=90)
        timeline.append(("all windows", time.time()))
        out.answers = store.answers()
        store.close()
        out.deadletters = [
            msg.decode_deadletter(r.key, r.value, r.headers)
            for r in read_topic(kafka_bootstrap, f"{cluster.prefix}deadletter")
        ]
        out.stored_letters = _stored_letters(db_url, len(out.deadletters))
        timeline.append(("read back", time.time()))
        print("timeline:", [(n, round(t - timeline[0][1], 1)) for n, t in timeline])
        yield out
    finally:
        cluster.close()
        admin.dispose()


def _stored_letters(db_url: str, want: int, timeout: float = 30.0) -> list[Any]:
    """The sink's dead-letter rows, once it has stored ``want`` of them (or the timeout)."""
    from connectors.store import Store
    from connectors.store.dead_letters import DeadLetterLog

    store = Store.from_url(db_url, upgrade=False)
    try:
        deadline = time.time() + timeout
        while True:
            rows = DeadLetterLog(store.engine).read(limit=1000)
            if len(rows) >= want or time.time() > deadline:
                return rows
            time.sleep(0.5)
    finally:
        store.close()


def _due_ends(segs: list[Segment]) -> list[float]:
    """Ends k·every in (first start, last end] whose window holds a sampled frame.

    Ground truth from the topic's segments and the decoder alone (no scheduler, no
    engine): the frames a worker samples at ``FPS`` and the stream's time span.
    """
    from connectors.video import decode_segment

    times = sorted(f.t for s in segs for f in decode_segment(s, FPS))
    first, last = min(s.start for s in segs), max(s.end for s in segs)
    ends = [k * EVERY for k in range(int(first // EVERY) + 1, int(last // EVERY + 1e-9) + 1)]
    return [e for e in ends if any(max(first, e - WINDOW) <= t < e for t in times)]


def test_every_due_window_has_exactly_one_answer_row(outcome: Outcome) -> None:
    rows = defaultdict(list)
    for a in outcome.answers:
        if a.query_id == "q1":
            rows[a.camera].append(a.window_end)
    assert sorted(rows) == sorted(outcome.cameras)
    for cam in outcome.cameras:
        ends = sorted(rows[cam])
        assert len(ends) == len(set(ends)), f"{cam}: duplicated windows"
        assert ends == _due_ends(outcome.segments[cam]), f"{cam}: missing windows"


def test_the_survivor_took_over_the_killed_workers_cameras(outcome: Outcome) -> None:
    survivor = "w2" if outcome.killed == "w1" else "w1"
    before = outcome.owned_before
    assert before["w1"] and before["w2"], f"both workers should own cameras: {before}"
    assert before["w1"] | before["w2"] == set(outcome.cameras)
    after = _owned(outcome.workers[survivor].text())
    assert before[outcome.killed] <= after
    for cam in before[outcome.killed]:  # and answered them after the kill
        assert max(a.window_end for a in outcome.answers if a.camera == cam) > outcome.t_kill


def test_answers_agree_with_the_embedded_perceiver_on_the_same_segments(outcome: Outcome) -> None:
    from pipeline.scheduler import Scheduler
    from pipeline.types import StandingQuery
    from workers.config import load_settings
    from workers.perception.build import load_encoder, perceiver_from_settings

    p = load_settings(
        perception={"clip": outcome.clip_spec, "sample_fps": 2.0, "device": "cpu"}
    ).perception
    encoder = load_encoder(p)
    q1 = StandingQuery("q1", "a red circle", ("*",), EVERY, WINDOW, "clip")
    stored = {(a.camera, a.window_end): a for a in outcome.answers if a.query_id == "q1"}
    compared = 0
    for cam, segs in outcome.segments.items():
        perceiver = perceiver_from_settings(p, encoder, queries=[q1])
        assert isinstance(perceiver.scheduler, Scheduler)
        for seg in sorted(segs, key=lambda s: s.seq):
            for want in perceiver.on_segment(seg):
                got = stored[(cam, want.window_end)]
                assert got.window_start == pytest.approx(want.window_start)
                assert got.frames == pytest.approx(want.frames)
                assert got.matched == want.matched
                assert got.score == pytest.approx(want.score, abs=1e-4)
                compared += 1
    assert compared == len(stored)


def test_a_question_added_while_running_is_answered_within_one_interval(outcome: Outcome) -> None:
    q2 = defaultdict(list)
    for a in outcome.answers:
        if a.query_id == "q2":
            q2[a.camera].append(a.window_end)
    assert sorted(q2) == sorted(outcome.cameras)
    for cam, ends in q2.items():
        ends.sort()
        assert ends[0] - outcome.t_add <= SEGMENT_S + EVERY + SLACK, cam
        assert ends == [ends[0] + i * EVERY for i in range(len(ends))], f"{cam}: gap in q2"


def test_a_removed_question_stops(outcome: Outcome) -> None:
    last = max(a.window_end for a in outcome.answers if a.query_id == "q2")
    assert last - outcome.t_remove <= SEGMENT_S + EVERY + SLACK
    later = [a for a in outcome.answers if a.query_id == "q1" and a.window_end > last + 3]
    assert later, "q1 kept being answered after q2 stopped"


def test_a_corrupt_segment_is_dead_lettered_and_the_camera_keeps_answering(
    outcome: Outcome,
) -> None:
    camera, partition, offset = outcome.corrupt
    letters = {(d.partition, d.offset): d for d in outcome.deadletters}
    bad = letters[(partition, offset)]
    assert (bad.error_type, bad.camera, bad.stage) == ("DecodeError", camera, "perceive")
    junk = letters[outcome.junk]
    assert junk.error_type == "MessageError" and junk.camera == camera
    injected_at = outcome.t_add  # injected right after q2 was added
    assert any(a.camera == camera and a.window_end > injected_at + 5 for a in outcome.answers)
    # the sink kept every dead letter of the topic in the store, once
    stored = sorted((r.topic, r.partition, r.offset, r.stage, r.camera, r.error_type)
                    for r in outcome.stored_letters)
    assert stored == sorted((d.topic, d.partition, d.offset, d.stage, d.camera, d.error_type)
                            for d in outcome.deadletters)


def test_every_sampled_frame_reaches_the_frame_index_once(outcome: Outcome) -> None:
    """History in scale-out: workers publish each encoded frame on the frames topic and
    the sink indexes it, with the model id (on Debian's PostgreSQL: the blob schema)."""
    from connectors.store.frames.index import FrameIndex
    from connectors.video import decode_segment

    index = FrameIndex.from_url(outcome.cluster.db_url, upgrade=False)
    try:
        for cam in outcome.cameras:
            want = sorted({f.t for s in outcome.segments[cam] for f in decode_segment(s, FPS)})
            stored = index.frames(cam, -1e18, 1e18)
            assert sorted(f.t for f in stored) == want, cam
            assert {f.model_id for f in stored} == {outcome.clip_spec}
    finally:
        index.close()


def test_after_kill_9_the_successor_carries_on_the_clip_baselines(outcome: Outcome) -> None:
    """The default (adaptive) clip answers of the killed worker's cameras, answered by the
    survivor after the kill, agree with an uninterrupted run on ≥ 95% of windows, and the
    survivor did not start calibrating again: it loaded the baselines from the store."""
    from connectors.store import Store
    from connectors.store.feedback import load_state
    from pipeline.types import StandingQuery
    from workers.config import load_settings
    from workers.perception.build import load_encoder, perceiver_from_settings

    taken = outcome.owned_before[outcome.killed]
    assert taken, "the killed worker owned no camera"
    p = load_settings(
        perception={"clip": outcome.clip_spec, "sample_fps": FPS, "device": "cpu"}
    ).perception
    encoder = load_encoder(p)
    q1 = StandingQuery("q1", "a red circle", ("*",), EVERY, WINDOW, "clip")
    after = {(a.camera, a.window_end): a for a in outcome.answers
             if a.query_id == "q1" and a.camera in taken and a.window_end > outcome.t_kill + 1}
    assert after, "no answer of the killed worker's cameras after the kill"
    assert not [a for a in after.values() if "calibrating" in a.text]
    same = compared = 0
    for cam in taken:
        perceiver = perceiver_from_settings(p, encoder, queries=[q1])  # never interrupted
        for seg in sorted(outcome.segments[cam], key=lambda s: s.seq):
            for want in perceiver.on_segment(seg):
                got = after.get((cam, want.window_end))
                if got is not None:
                    compared += 1
                    same += got.matched == want.matched
    assert compared == len(after) and same / compared >= 0.95, (same, compared)
    store = Store.from_url(outcome.cluster.db_url, upgrade=False)
    try:
        assert all(load_state(store, "q1", cam).samples for cam in outcome.cameras)
    finally:
        store.close()


def test_the_sink_kept_the_rollups_of_the_stored_answers(outcome: Outcome) -> None:
    """Kafka mode, a worker killed mid-stream (its records redelivered), a question added
    and removed: the runs and minute rollups the sink kept as it stored each batch are
    those of the stored answers (issue 29), as computed here from the rows alone."""
    from connectors.store import Store
    from connectors.store.rollups.reads import RollupReads
    from connectors.store.rollups.summary import summarize
    from tests.answer_stream import reference_runs, union

    store = Store.from_url(outcome.cluster.db_url, upgrade=False)
    try:
        reads = RollupReads(store.engine)
        for query_id, camera in {(a.query_id, a.camera) for a in outcome.answers}:
            answers = sorted((a for a in store.answers(query_id=query_id, camera=camera)),
                             key=lambda a: a.window_end)
            runs = sorted(reads.runs(0, 1e11, query_id, camera, limit=1000),
                          key=lambda r: r.start)
            got = [(r.start, r.end, r.windows, round(r.matched_s, 6)) for r in runs]
            assert got == reference_runs(answers), (query_id, camera)
            summary = summarize(reads, query_id=query_id, camera=camera, since="1d",
                                bucket="1d")
            assert summary.windows == len(answers)
            steps = [(a.window_end - a.every, a.window_end) for a in answers if a.matched]
            assert summary.matched_s == round(union(steps), 6)
    finally:
        store.close()

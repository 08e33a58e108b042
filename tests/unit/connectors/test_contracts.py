"""`feedwatch schema TOPIC`: a JSON Schema a third party can validate our messages with."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import numpy as np
import pytest
from jsonschema import Draft202012Validator

from connectors.bus import messages as msg
from connectors.bus.contracts import DIALECT, TOPIC_MODELS
from connectors.bus.models import AnswerFields, QueryFields, SegmentHeader
from connectors.bus.status_messages import CameraStatus, encode_camera_status
from pipeline.perceiver import AnswererCache, build_perceiver
from pipeline.perception import SelectionConfig
from pipeline.scheduler import Scheduler
from pipeline.testing import ColourEncoder
from pipeline.types import Answer, Frame, Segment, StandingQuery
from tests.unit.fakes import red_frame, segment_json
from workers.cli.main import main


def printed_schema(topic: str, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    assert main(["schema", topic]) == 0
    out = capsys.readouterr().out
    schema = json.loads(out)  # exactly one JSON document on stdout
    assert isinstance(schema, dict)
    return schema


def red_frames(segment: Segment, fps: float) -> list[Frame]:
    """Frames of a fake segment whose value lists ``[t, red]`` pairs."""
    return [red_frame(segment.camera, t, red) for t, red in segment_json(segment, "not a clip")]


def produced_answers() -> list[Answer]:
    """Answers the perceiver produces for a question on a short clip (no fakes after it)."""
    encoder = ColourEncoder()
    perceiver = build_perceiver(
        encoder, AnswererCache(encoder), SelectionConfig(), Scheduler(), red_frames, 1.0
    )
    query = StandingQuery("q-red", "a red circle", ("cam",), 1.0, 4.0, "clip", {"threshold": 0.3})
    perceiver.on_query(query.id, query)
    answers: list[Answer] = []
    for seq, start in enumerate(range(0, 10, 2)):
        pairs = [(t, 4 <= t < 7) for t in (start, start + 1)]
        segment = Segment("cam", seq, float(start), 2.0, json.dumps(pairs).encode())
        answers += perceiver.on_segment(segment)
    assert answers, "the clip must produce answers"
    return answers


@pytest.mark.parametrize("topic", sorted(TOPIC_MODELS))
def test_every_topic_has_a_draft_2020_12_object_schema(
    topic: str, capsys: pytest.CaptureFixture[str]
) -> None:
    schema = printed_schema(topic, capsys)
    assert schema["$schema"] == DIALECT
    assert schema["type"] == "object" and schema["properties"]
    Draft202012Validator.check_schema(schema)


def test_the_answers_schema_validates_produced_answers_and_rejects_a_missing_field(
    capsys: pytest.CaptureFixture[str],
) -> None:
    validator = Draft202012Validator(printed_schema("answers", capsys))
    for answer in produced_answers():
        body = json.loads(msg.encode_answer(answer).value or b"")
        assert not list(validator.iter_errors(body)), body
        for field in ("question", "window_end", "visual_tokens", "schema"):
            broken = {k: v for k, v in body.items() if k != field}
            errors = list(validator.iter_errors(broken))
            assert any(field in e.message for e in errors), (field, errors)
            with pytest.raises(msg.MessageError, match=field):
                msg.decode_answer(b"q-red", json.dumps(broken).encode())


def test_the_schemas_describe_what_the_code_sends(capsys: pytest.CaptureFixture[str]) -> None:
    query = StandingQuery("q", "a dog?", ("a", "b"), 1.0, 2.0, "clip", {"k": 1})
    queries = Draft202012Validator(printed_schema("feedwatch.queries", capsys))
    assert not list(queries.iter_errors(json.loads(msg.encode_query(query).value or b"")))
    status = Draft202012Validator(printed_schema("status", capsys))
    snapshot = CameraStatus(camera="a", state="stalled", since=1.0, updated_at=2.0, segments=3)
    assert not list(status.iter_errors(json.loads(encode_camera_status(snapshot).value or b"")))
    headers = printed_schema("segments", capsys)
    sent = dict(msg.encode_segment(Segment("a", 3, 1.5, 2.0, b"ts")).headers)
    assert set(headers["required"]) <= set(sent) <= set(headers["properties"])


def test_an_unknown_topic_is_refused_naming_the_topics(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema", "frames"]) == 2
    assert "answers" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("model", "domain", "not_on_the_wire"),
    [
        (AnswerFields, Answer, {"evidence", "timings"}),  # timings: the bus's only
        (QueryFields, StandingQuery, set()),
        (SegmentHeader, Segment, {"data"}),
    ],
)
def test_the_message_models_carry_every_field_of_the_domain_objects(
    model: type[Any], domain: type[Any], not_on_the_wire: set[str]
) -> None:
    fields = {f.name for f in dataclasses.fields(domain)} - not_on_the_wire
    assert fields == set(model.model_fields) - {"schema_version"}


def test_numpy_values_in_an_answer_go_out_as_json_numbers() -> None:
    stages = {"clip": {"matched": np.bool_(True), "score": np.float32(0.25), "grid": np.zeros(2)}}
    answer = dataclasses.replace(produced_answers()[0], stages=stages, score=np.float32(0.5))
    got = msg.decode_answer(*msg.encode_answer(answer))
    assert got.stages == {"clip": {"matched": True, "score": 0.25, "grid": [0.0, 0.0]}}
    assert got.score == 0.5


@pytest.mark.parametrize("bad", ["", "a/b", "../x", "q 1", "i" * 129, "-q"])
def test_a_query_id_is_plain_everywhere_it_enters(bad: str, tmp_path: Any) -> None:
    """A Kafka key, a URL path segment and a SQL key (String(200)): the CLI's ``--id``, the
    scheduler and a ``queries`` message refuse the same ids, naming the rule."""
    from pydantic import ValidationError

    from connectors.bus.models import QueryMessage
    from pipeline.errors import ConfigError
    from pipeline.query_rules import QUERY_ID_RULE
    from pipeline.scheduler import validate_query

    with pytest.raises(ConfigError, match="A-Z a-z 0-9"):
        validate_query(StandingQuery(bad, "a red circle"))
    with pytest.raises(ValidationError):
        QueryMessage.model_validate({"id": bad, "question": "x", "cameras": ["*"], "every": 1,
                                     "window": 4, "answerer": "clip", "settings": {},
                                     "version": 1})
    assert QUERY_ID_RULE in printed_schema_text()
    code = main(["queries", "add", "a red circle", "--id", bad, "--db",
                 f"sqlite:///{tmp_path / 'q.db'}", "--kafka", "127.0.0.1:1"])
    assert code == 2


def printed_schema_text() -> str:
    from connectors.bus.contracts import TOPIC_MODELS as models

    return json.dumps(models["queries"].model_json_schema())


def test_queries_add_refuses_a_camera_id_the_api_refuses(
    tmp_path: Any, capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(["queries", "add", "a red circle", "--camera", "../etc", "--db",
                 f"sqlite:///{tmp_path / 'q.db'}", "--kafka", "127.0.0.1:1"])
    assert code == 2 and capsys.readouterr().err.startswith("error: camera: '../etc'")

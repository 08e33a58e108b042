"""Bad input to the store-side commands is one line and exit 2, before anything is
opened or written: ``api --host``, ``healthcheck``, ``queries add|reset``, ``answers``,
``search``, ``db``, ``hooks add`` and ``report``; and what a command was given is what
it uses (``answers --db URL feedback``, a changed query gets a new version)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from connectors.store import Store
from connectors.store.feedback import feedback_for
from pipeline.types import StandingQuery
from tests.unit.workers.api.scenarios import answer
from workers.cli.main import main


@pytest.fixture
def url(tmp_path: Path) -> str:
    """An empty store that exists (the reading commands refuse a path with none)."""
    url = f"sqlite:///{tmp_path / 'fw.db'}"
    Store.from_url(url, upgrade=True).close()
    return url


@pytest.mark.parametrize("argv", [["answers"], ["search", "red"], ["report"], ["queries", "list"],
                                  ["queries", "show", "q1"], ["backfills", "list"]])
def test_reading_commands_refuse_a_store_path_with_no_store(
        argv: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "typo" / "fw.db"
    code, err = run(capsys, *argv, "--db", f"sqlite:///{missing}")
    assert code == 2 and "--db" in err and f"no file {missing}" in err
    assert not missing.parent.exists()  # nothing was created in its place


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    """Exit code and stderr of ``feedwatch ARGV``."""
    code = main(list(argv))
    return code, capsys.readouterr().err


def refused(capsys: pytest.CaptureFixture[str], *argv: str, naming: str) -> str:
    code, err = run(capsys, *argv)
    assert code == 2, err
    assert naming in err and "Traceback" not in err, err
    return err


# 1 ------------------------------------------------------------------- api --host


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """The server's run recorded (its host and port) instead of serving."""
    import uvicorn

    calls: list[dict[str, Any]] = []

    def run(server: uvicorn.Server, *args: Any, **kw: Any) -> None:
        calls.append({"host": server.config.host, "port": server.config.port})

    monkeypatch.setattr(uvicorn.Server, "run", run)
    return calls


@pytest.mark.parametrize("host", ["", "  ", "bad host!", "999.1.1.1", "-x", "[::1]", "a..b"])
def test_api_refuses_a_host_that_is_no_address(
    host: str, url: str, served: list[dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    refused(capsys, "api", "--db", url, "--host", host, naming="--host")
    assert served == []


def test_api_refuses_an_empty_host_from_the_environment(
    url: str, served: list[dict[str, Any]], capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FEEDWATCH_API_HOST", "")
    refused(capsys, "api", "--db", url, naming="--host")
    assert served == []


def test_api_listens_on_an_ip_literal_or_hostname(
    url: str, served: list[dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    from workers.cli.commands.api import check_host

    for host in ("0.0.0.0", "::", "::1", "localhost", "api.example.com", "example.com."):
        assert check_host(host) == host
    assert run(capsys, "api", "--db", url, "--host", "localhost")[0] == 0
    assert served[0]["host"] == "localhost"


# 2 ------------------------------------------------------------------- healthcheck


@pytest.mark.parametrize(("flag", "value"), [("--url", ""), ("--url", "notaurl"),
                                             ("--url", "http://"), ("--heartbeat", "")])
def test_healthcheck_refuses_what_it_cannot_check(
    flag: str, value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    refused(capsys, "healthcheck", flag, value, naming=flag)


def test_healthcheck_a_directory_is_no_heartbeat(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = run(capsys, "healthcheck", "--heartbeat", str(tmp_path))
    assert code == 1 and "is a directory" in err
    beat = tmp_path / "beat"
    beat.touch()
    assert run(capsys, "healthcheck", "--heartbeat", str(beat))[0] == 0


# 3 ------------------------------------------------------------------- queries


@pytest.fixture
def published(monkeypatch: pytest.MonkeyPatch) -> list[StandingQuery | None]:
    """The queries topic, as ``queries add --kafka`` writes it (no broker)."""
    from workers.cli.commands import queries

    sent: list[StandingQuery | None] = []
    monkeypatch.setattr(queries, "publish", lambda settings, qid, query: sent.append(query))
    return sent


def _stored(url: str) -> StandingQuery:
    store = Store.from_url(url)
    try:
        (query,) = store.queries()
        return query
    finally:
        store.close()


def test_adding_an_id_again_with_a_changed_question_is_a_new_version(
    url: str, published: list[StandingQuery | None], capsys: pytest.CaptureFixture[str]
) -> None:
    store = Store.from_url(url)
    store.upsert_query(StandingQuery("q1", "red circle", settings={"mode": "margin"}))
    store.close()
    add = ("queries", "add", "--id", "q1", "--kafka", "127.0.0.1:9", "--db", url)
    assert run(capsys, *add, "red circle")[0] == 0
    assert _stored(url).version == 1  # the same query again: nothing changed
    assert run(capsys, *add, "blue square")[0] == 0
    now = _stored(url)
    assert (now.question, now.version, now.settings) == ("blue square", 2, {"mode": "margin"})
    assert published[-1] == now  # workers see the new version
    assert run(capsys, *add, "blue square")[0] == 0 and _stored(url).version == 2
    assert run(capsys, *add, "blue square", "--every", "2s")[0] == 0
    assert _stored(url).version == 3


def test_a_changed_query_is_not_backfilled_under_its_old_id(
    url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    store = Store.from_url(url)
    store.upsert_query(StandingQuery("q1", "red circle"))
    store.close()
    refused(capsys, "queries", "add", "blue square", "--id", "q1", "--backfill", "1m",
            "--db", url, naming="--backfill")
    assert (_stored(url).question, _stored(url).version) == ("red circle", 1)


@pytest.mark.parametrize("command", ["reset", "state"])
def test_queries_camera_must_be_a_camera_id(
    command: str, url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    store = Store.from_url(url)
    store.upsert_query(StandingQuery("q1", "red circle"))
    store.close()
    refused(capsys, "queries", command, "q1", "--camera", "", "--db", url, naming="--camera")


# 4, 5, 6 ----------------------------------------------------------- answers, search


def test_answers_bounds_numbers_before_sql(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    refused(capsys, "answers", "--db", url, "--limit", "99999999999999999999", naming="--limit")
    refused(capsys, "answers", "--db", url, "feedback", "99999999999999999999999", "--right",
            naming="ANSWER_ID")
    assert run(capsys, "answers", "--db", url, "--limit", "1000000")[0] == 0


@pytest.mark.parametrize("since", ["nan", "inf", "-inf", "1e400"])
def test_answers_and_search_refuse_times_that_are_not_finite(
    since: str, url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    refused(capsys, "answers", "--db", url, "--since", since, naming="--since")
    refused(capsys, "search", "red", "--db", url, "--since", since, naming="--since")


def test_search_checks_its_range_and_limit_before_loading_anything(
    url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    refused(capsys, "search", "red", "--db", url, "--since", "5", "--until", "1",
            naming="--until")
    refused(capsys, "search", "red", "--db", url, "--limit", "0", naming="--limit")
    refused(capsys, "search", "red", "--db", url, "--limit", "10000000000000000000000",
            naming="--limit")


def test_feedback_uses_the_store_given_to_answers(
    tmp_path: Path, url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    store = Store.from_url(url)
    store.insert_answers([answer("q-1", "cam-1", 10.0)])
    (tmp_path / "cwd").mkdir()
    monkeypatch.chdir(tmp_path / "cwd")
    monkeypatch.delenv("FEEDWATCH_STORE_URL", raising=False)
    code, err = run(capsys, "answers", "--db", url, "feedback", "1", "--wrong")
    assert code == 0, err
    assert [fb.correct for fb in feedback_for(store)] == [False]
    assert not (tmp_path / "cwd" / "feedwatch.db").exists()
    other = f"sqlite:///{tmp_path / 'other.db'}"
    refused(capsys, "answers", "--db", url, "feedback", "1", "--right", "--db", other,
            naming="--db")
    assert run(capsys, "answers", "--db", url, "feedback", "1", "--right", "--db", url)[0] == 0
    store.close()


# 8 ------------------------------------------------------------------- db


def test_db_current_on_a_file_that_is_no_database_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "notdb"
    bad.write_text("this is not a database\n" * 10)
    code, err = run(capsys, "db", "current", "--db", f"sqlite:///{bad}")
    assert code == 1 and len(err.strip().splitlines()) == 1 and "not a database" in err, err


@pytest.mark.parametrize("revision", ["bogus", "", " "])
def test_db_upgrade_names_a_revision_it_does_not_know(
    revision: str, url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    refused(capsys, "db", "upgrade", "--db", url, "--revision", revision, naming="--revision")
    assert run(capsys, "db", "upgrade", "--db", url, "--revision", "head")[0] == 0


@pytest.mark.parametrize("value", ["", "0", "xyz", "-1d"])
def test_db_prune_names_a_bad_retention_once(
    value: str, url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    err = refused(capsys, "db", "prune", "--db", url, "--answers", value, naming="--answers")
    assert "infs" not in err and "retention.answers" not in err
    assert run(capsys, "db", "prune", "--db", url, "--answers", "7d")[0] == 0


# 9 ------------------------------------------------------------------- hooks add


@pytest.fixture
def hooks_url(url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    from connectors.store.secret_box import new_key

    monkeypatch.setenv("FEEDWATCH_SECRETS_KEY", new_key())
    store = Store.from_url(url)
    store.upsert_query(StandingQuery("q1", "red circle"))
    store.close()
    return url


@pytest.mark.parametrize(("args", "naming"), [
    (("--query", "nope"), "--query"),
    (("--query", "q1", "--query", "nope"), "--query"),
    (("--secret", ""), "--secret"),
    (("--name", "a\x1b[2Jb"), "--name"),
    (("--name", "x" * 201), "--name"),
])
def test_hooks_add_refuses_and_stores_nothing(
    args: tuple[str, ...], naming: str, hooks_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    hook = ("hooks", "add", "http://10.0.0.1/x", "--allow-private", "--db", hooks_url)
    refused(capsys, *hook, *args, naming=naming)
    assert run(capsys, "hooks", "list", "--db", hooks_url)[0] == 0
    assert capsys.readouterr().out == ""
    code, err = run(capsys, *hook, "--query", "q1", "--name", "x" * 200, "--secret", "s")
    assert code == 0, err


# 10 ------------------------------------------------------------------ report


@pytest.mark.parametrize("span", [("--since", "1700000000", "--until", "1600000000"),
                                  ("--since", "10", "--until", "10"),
                                  ("--until", "-5"), ("--since", "-1")])
def test_report_refuses_an_empty_or_negative_range(
    span: tuple[str, ...], url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    err = refused(capsys, "report", "--db", url, *span, naming="--")
    assert ("--until" in err) == ("--until" in span[-2:])
    assert run(capsys, "report", "--db", url, "--since", "10", "--until", "11")[0] == 0

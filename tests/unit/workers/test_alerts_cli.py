"""`feedwatch hooks add|list|remove` and `feedwatch alerts --once` as a user runs them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from connectors.store import Store
from pipeline.types import StandingQuery
from workers.cli.main import main


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    from connectors.store.secret_box import new_key

    monkeypatch.delenv("FEEDWATCH_HOOKS_ALLOW_PRIVATE", raising=False)
    monkeypatch.setenv("FEEDWATCH_SECRETS_KEY", new_key())  # hook secrets are stored sealed
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    store = Store.from_url(url)
    store.upsert_query(StandingQuery("q1", "x"))  # a rule's query must exist
    store.close()
    return url


def test_hooks_add_list_remove(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    url = "http://127.0.0.1:9/hook/TOKEN123"
    assert main(["hooks", "add", url, "--db", db]) == 2
    assert "ALLOW_PRIVATE" in capsys.readouterr().err
    assert (
        main(
            [
                "hooks",
                "add",
                url,
                "--db",
                db,
                "--allow-private",
                "--secret",
                "s3cr3t",
                "--query",
                "q1",
                "--when",
                "score>=0.3",
                "--open-after",
                "2",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    hook_id = out.split()[1]
    assert "TOKEN123" not in out and "rule" in out
    assert main(["hooks", "list", "--db", db, "--json"]) == 0
    [listed] = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert listed["id"] == hook_id and listed["has_secret"] and "s3cr3t" not in str(listed)
    assert listed["rules"][0]["threshold"] == 0.3 and listed["rules"][0]["open_after"] == 2
    assert main(["hooks", "remove", hook_id, "--db", db]) == 0
    assert main(["hooks", "remove", hook_id, "--db", db]) == 2
    assert (
        main(
            [
                "hooks",
                "add",
                url,
                "--db",
                db,
                "--allow-private",
                "--query",
                "q",
                "--when",
                "sometimes",
            ]
        )
        == 2
    )


def test_alerts_once_reports_nothing_pending(
    db: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FEEDWATCH_HOOKS_WAIT_ON_EXIT_S", "0.5")
    assert main(["alerts", "--db", db, "--once"]) == 0
    assert "nothing pending" in capsys.readouterr().err

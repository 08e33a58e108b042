"""The API and the dashboard form offer the ``cascade`` answerer."""

from __future__ import annotations

from pathlib import Path

from tests.unit.workers.api.scenarios import READ, ApiHarness


def test_cascade_is_a_known_answerer_and_queries_take_it(harness: ApiHarness) -> None:
    assert "cascade" in harness.call("GET", "/api/answerers", READ).json()
    settings = {"band": 0.1, "clip": {"threshold": 0.25}, "vlm": {"max_new_tokens": 24}}
    created = harness.create(answerer="cascade", settings=settings)
    assert (created["answerer"], created["settings"]) == ("cascade", settings)


def test_dashboard_form_offers_cascade() -> None:
    html = (Path(__file__).parents[4] / "workers/api/static/index.html").read_text()
    assert "<option>cascade</option>" in html

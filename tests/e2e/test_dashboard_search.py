"""The dashboard's search box in real headless Chromium: type a text, get a grid of
moments with thumbnails and boxes; click one, see the frame with its box. A
screenshot is saved to ``artifacts/dashboard-search.png``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from connectors.store import Store
from pipeline.questions import QUESTION_MAX
from tests.e2e.dashboard import need_chromium, serve, signed_in
from tests.unit.workers.api.scenarios import READ, ApiHarness
from tests.unit.workers.api.test_api_history import index_clip

ARTIFACT = Path(__file__).resolve().parents[2] / "artifacts" / "dashboard-search.png"
pytest.importorskip("playwright.sync_api")


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[ApiHarness, str]]:
    from pipeline.models.clip_encoder import ClipEncoder, shapes_demo_dir

    need_chromium()
    if not (shapes_demo_dir() / "open_clip_config.json").is_file():
        pytest.skip("shapes-demo weights are not bundled")
    store = Store.from_url(f"sqlite:///{tmp_path / 'search.db'}")
    red = ClipEncoder.from_spec("shapes-demo", device="cpu").encode_text(["a red circle"])[0]
    index_clip(store, np.asarray(red))
    yield from serve(ApiHarness(store))


def test_search_box_shows_moments_and_the_frame_with_its_box(
    served: tuple[ApiHarness, str],
) -> None:
    _, url = served
    with signed_in(url, READ, viewport={"width": 1280, "height": 1000}) as pg:
        pg.fill("#search-form input[name=q]", "a red circle")
        pg.fill("#search-form input[name=limit]", "3")
        pg.click("#search-form button")
        first = pg.locator("#search-results .moment").first
        first.locator("img").wait_for(timeout=20_000)
        assert "dock" in first.inner_text()
        assert pg.locator("#search-results .moment").count() <= 3
        pg.wait_for_function(
            "() => { const i = document.querySelector('#search-results img');"
            " return i && i.complete && i.naturalWidth > 0; }", timeout=10_000)
        assert first.locator(".moment-box").is_visible()
        first.click()
        pg.locator("#moment-viewer .viewer-frame img").wait_for(timeout=10_000)
        assert "score" in pg.locator("#moment-viewer p").inner_text()
        ARTIFACT.parent.mkdir(exist_ok=True)
        pg.screenshot(path=str(ARTIFACT), full_page=True)


def test_a_search_text_longer_than_the_api_takes_is_refused_not_cut(
    served: tuple[ApiHarness, str],
) -> None:
    _, url = served
    long = ("a red circle beside the loading dock door at night " * 20)[:780]
    with signed_in(url, READ, viewport={"width": 1280, "height": 1000}) as pg:
        asked: list[str] = []
        pg.on("request", lambda r: asked.append(r.url) if "/api/search" in r.url else None)
        pg.fill("#search-form input[name=q]", long)
        assert len(pg.input_value("#search-form input[name=q]")) == 780  # not cut
        pg.click("#search-form button")
        pg.locator("#search-error",
                   has_text=f"780 characters; at most {QUESTION_MAX}").wait_for(timeout=8000)
        assert asked == []
    html = (Path(__file__).resolve().parents[2] / "workers/api/static/index.html").read_text()
    assert f'name="q" required data-max="{QUESTION_MAX}"' in html

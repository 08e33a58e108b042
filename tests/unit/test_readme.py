"""The README is the front door: short, with both commands, and no link into nowhere.

Everything past it lives in ``docs/``; a moved or renamed page must not leave a
dangling relative link in the README or in another page.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
PAGES = sorted((ROOT / "docs").glob("*.md"))
MAX_LINES = 250

# [text](target) and ![alt](target), with an optional "title"; reference-style
# definitions "[id]: target" too.
INLINE = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE = re.compile(r"^\s*\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+\"[^\"]*\")?\s*$", re.MULTILINE)
FENCE = re.compile(r"^(```|~~~).*?^\1", re.MULTILINE | re.DOTALL)
EXTERNAL = ("http://", "https://", "mailto:")


def links(markdown: str) -> list[str]:
    """Link targets outside fenced code blocks and inline code spans."""
    text = FENCE.sub("", markdown)
    text = re.sub(r"`[^`\n]*`", "", text)
    return INLINE.findall(text) + REFERENCE.findall(text)


def local(page: Path) -> dict[str, Path]:
    """Each relative target of ``page`` (anchor and query dropped) and the path it names."""
    found = {}
    for target in links(page.read_text(encoding="utf-8")):
        path = target.split("#", 1)[0].split("?", 1)[0]
        if not target.startswith(EXTERNAL) and path:
            found[target] = (page.parent / path).resolve()
    return found


def broken(page: Path, root: Path = ROOT) -> list[str]:
    """Relative targets of ``page`` that name no file or folder inside ``root``."""
    return [target for target, path in local(page).items()
            if not path.exists() or root.resolve() not in (path, *path.parents)]


def reachable(start: Path) -> set[Path]:
    """Markdown pages reached from ``start`` by following relative links."""
    seen, todo = {start.resolve()}, [start.resolve()]
    while todo:
        for path in local(todo.pop()).values():
            if path.suffix == ".md" and path.is_file() and path not in seen:
                seen.add(path)
                todo.append(path)
    return seen


def test_readme_is_at_most_250_lines() -> None:
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= MAX_LINES, f"README.md has {len(lines)} lines; move detail to docs/"


@pytest.mark.parametrize("command", ["make run", "make test"])
def test_readme_gives_the_two_commands(command: str) -> None:
    assert command in README.read_text(encoding="utf-8")


def test_every_docs_page_is_reached_from_the_readme() -> None:
    seen = reachable(README)
    orphans = [p.name for p in PAGES if p.resolve() not in seen]
    assert PAGES and not orphans, f"docs pages no link leads to from README.md: {orphans}"


@pytest.mark.parametrize("page", [README, *PAGES], ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(page: Path) -> None:
    assert broken(page) == [], f"{page.relative_to(ROOT)}: links to nothing"


def test_a_link_to_nowhere_is_caught(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "[ok](page.md#top) [gone](missing.md) ![img](nope.png) [web](https://example.com)\n"
        "```\n[in code](ignored.md)\n```\n`[span](ignored.md)`\n",
        encoding="utf-8",
    )
    assert links(page.read_text(encoding="utf-8")) == [
        "page.md#top", "missing.md", "nope.png", "https://example.com"]
    assert broken(page, tmp_path) == ["missing.md", "nope.png"]
    assert broken(page, tmp_path / "elsewhere") == ["page.md#top", "missing.md", "nope.png"]

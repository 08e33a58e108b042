"""What the CLI and the API promise, as data: every command's options and environment
variables (click introspection) and the OpenAPI document. ``tests/unit/workers/
test_surface.py`` compares them with the snapshot in ``surface.json``; after a change
meant to alter them, rewrite it with ``python -m tests.unit.workers.surface``."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

SNAPSHOT = Path(__file__).with_name("surface.json")
DROPPED = ("help",)  # wording may change; names, env vars, types and defaults may not


def cli_surface(group: click.Group) -> dict[str, Any]:
    """``{"feedwatch run": {"--ask": {...}, ...}, ...}`` for every command and group."""
    out: dict[str, Any] = {}
    _walk(group, "feedwatch", click.Context(group, info_name="feedwatch"), out)
    return out


def _walk(cmd: click.Command, path: str, ctx: click.Context, out: dict[str, Any]) -> None:
    out[path] = {_key(p): _param(p) for p in cmd.params}
    if isinstance(cmd, click.Group):
        for name in cmd.list_commands(ctx):
            sub = cmd.get_command(ctx, name)
            if sub is not None:
                _walk(sub, f"{path} {name}", click.Context(sub, parent=ctx, info_name=name), out)


def _key(param: click.Parameter) -> str:
    return max(param.opts, key=len) if isinstance(param, click.Option) else str(param.name)


def _param(param: click.Parameter) -> dict[str, Any]:
    info = param.to_info_dict()
    info["type"].pop("param_type", None)  # the Python class behind it, not what a user sees
    if "choices" in info.get("type", {}):
        info["type"]["choices"] = sorted(info["type"]["choices"])
    kept = {k: v for k, v in info.items() if k not in DROPPED and not _unset(k, v)}
    return dict(json.loads(json.dumps(kept, default=str)))


def _unset(key: str, value: object) -> bool:
    """Click's defaults for an attribute (left out of the snapshot to keep it readable)."""
    return value is None or value is False or value == [] or (key == "nargs" and value == 1)


def openapi_surface() -> dict[str, Any]:
    """The API's OpenAPI document (built over an in-memory store, no services)."""
    from connectors.store import Store
    from workers.api.app import create_app
    from workers.config import load_settings

    store = Store.from_url("sqlite://", upgrade=True)
    try:
        return create_app(load_settings(), store).openapi()
    finally:
        store.close()


def surface() -> dict[str, Any]:
    from workers.cli.main import cli

    return {"cli": cli_surface(cli), "openapi": openapi_surface()}


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else SNAPSHOT
    target.write_text(json.dumps(surface(), indent=1, sort_keys=True) + "\n")
    print(f"wrote {target}", file=sys.stderr)

"""``feedwatch hooks add|list|remove``: register alert hooks (and rules that use them).

``add`` checks the URL (http/https only; private, loopback and link-local targets
need ``--allow-private`` or ``FEEDWATCH_HOOKS_ALLOW_PRIVATE=1``). With ``--query`` it
also attaches a rule: ``--when matched`` (default), ``score>=0.4``, ``regex:PATTERN``
or ``changed``, opening after ``--open-after`` windows and closing after
``--close-after``. Secrets are stored for signing and never printed.
"""

from __future__ import annotations

import json
import unicodedata
from typing import Any

import click

from connectors.hooks.delivery import CHANNELS
from pipeline.errors import ConfigError
from pipeline.questions import BIDI_CONTROLS
from workers.cli.options import db_option, env_option, setting_option
from workers.config import secret_box, settings_from_flags

NAME_MAX = 200
"""Characters of a hook's name (the API's limit and the column's)."""


def parse_condition(text: str) -> Any:
    """``matched`` | ``changed`` | ``verified`` | ``score>=X`` | ``regex:PATTERN`` → Condition."""
    from pipeline.alerts.model import Condition, ConditionKind

    text = text.strip()
    if text in ("matched", "changed", "verified"):
        return Condition(ConditionKind(text))
    if text.startswith("score>="):
        try:
            return Condition(ConditionKind.SCORE_AT_LEAST, threshold=float(text[7:]))
        except ValueError:
            pass
    elif text.startswith("regex:"):
        return Condition(ConditionKind.TEXT_REGEX, pattern=text[6:])
    raise ConfigError("--when", text, "matched, changed, verified, score>=NUMBER or regex:PATTERN")


def check_name(name: str) -> str:
    """A label people read in listings and terminals: printable, at most NAME_MAX."""
    bad = next((ch for ch in name if unicodedata.category(ch) in ("Cc", "Cs")
                or ch in BIDI_CONTROLS), None)
    if bad is not None:
        raise ConfigError("--name", name[:40], f"printable text, no control characters "
                          f"(U+{ord(bad):04X} at position {name.index(bad)})")
    if len(name) > NAME_MAX:
        raise ConfigError("--name", name[:40] + "…", f"at most {NAME_MAX} characters")
    return name


def _check_queries(store: Any, queries: tuple[str, ...]) -> None:
    """Rules only for stored queries (as ``queries show`` finds them): a mistyped id
    would make a rule that never fires."""
    from connectors.store import Store

    stored = {q.id for q in Store(store.engine).queries()}
    for query_id in queries:
        if query_id not in stored:
            raise click.BadParameter(f"no query {query_id!r} in the store (see `feedwatch "
                                     "queries list`)", param_hint="--query")


def _store(db: str | None) -> Any:
    from connectors.store import Store
    from connectors.store.alerts_repo import AlertStore

    settings = settings_from_flags(store={"url": db})
    engine = Store.from_url(settings.store.url).engine
    return AlertStore(engine, secret_box(settings)), settings


@click.group("hooks")
def command() -> None:
    """Manage alert hooks (webhook or Slack) and the rules that notify them."""


@command.command("add")
@click.argument("url")
@db_option
@click.option(
    "--type",
    "kind",
    type=click.Choice(list(CHANNELS)),
    default="webhook",
    show_default=True,
    help="Channel: signed JSON webhook or Slack incoming webhook.",
)
@click.option("--name", default="", help="A label for people.")
@env_option(
    "--secret",
    default=None,
    env="FEEDWATCH_HOOK_SECRET",
    help="HMAC secret for X-Feedwatch-Signature (prefer the env variable).",
)
@setting_option(
    "hooks",
    "--allow-private",
    is_flag=True,
    help="Allow private, loopback and link-local targets.",
)
@click.option(
    "--cooldown",
    type=float,
    default=None,
    help="Seconds between two openings of one rule+camera (default from settings).",
)
@click.option(
    "--rate-cap",
    type=int,
    default=None,
    help="Most notifications per rate period (FEEDWATCH_HOOKS_RATE_PERIOD_S).",
)
@click.option("--query", "queries", multiple=True, help="Attach a rule for this query id.")
@click.option(
    "--when",
    default="matched",
    show_default=True,
    help="Rule condition: matched, changed, verified (the VLM said yes), score>=X, regex:PATTERN.",
)
@click.option(
    "--verify",
    is_flag=True,
    help="Open incidents only on windows the VLM confirmed (same as --when verified).",
)
@click.option(
    "--open-after",
    type=int,
    default=1,
    show_default=True,
    help="Consecutive windows meeting the condition that open an incident.",
)
@click.option(
    "--close-after",
    type=int,
    default=1,
    show_default=True,
    help="Consecutive windows not meeting it that close the incident.",
)
@click.option(
    "--min-duration",
    type=float,
    default=0.0,
    show_default=True,
    help="Seconds the condition must hold before an incident opens.",
)
@click.option("--notify-close", is_flag=True, help="Also notify when an incident closes.")
def add(
    url: str,
    db: str | None,
    kind: str,
    name: str,
    secret: str | None,
    allow_private: bool,
    cooldown: float | None,
    rate_cap: int | None,
    queries: tuple[str, ...],
    when: str,
    verify: bool,
    open_after: int,
    close_after: int,
    min_duration: float,
    notify_close: bool,
) -> None:
    """Register a hook at URL (and, with --query, a rule that notifies it)."""
    from pipeline.alerts.model import Rule

    if verify and when.strip() not in ("matched", "verified"):
        raise ConfigError("--verify", when, "only with --when matched (the default) or verified")
    if secret is not None and not secret.strip():
        raise ConfigError("--secret", "",
                          "a non-empty HMAC secret (leave --secret out for unsigned hooks)")
    check_name(name)
    condition = parse_condition("verified" if verify else when)
    rules = [
        Rule("", q, condition, open_after, close_after, min_duration, notify_close) for q in queries
    ]
    store, settings = _store(db)
    _check_queries(store, queries)
    hook = store.add_hook(
        url,
        type=kind,
        name=name,
        secret=secret,
        allow_private=allow_private or settings.hooks.allow_private,
        cooldown_s=cooldown,
        rate_cap=rate_cap,
    )
    click.echo(f"hook {hook['id']} -> {hook['url']} ({hook['type']})")
    for rule in rules:
        from dataclasses import replace

        info = store.add_rule(replace(rule, hooks=(hook["id"],)))
        click.echo(
            f"rule {info['id']} on query {info['query_id']}: {when}, "
            f"open after {open_after}, close after {close_after}"
        )


@command.command("list")
@db_option
@click.option("--json", "as_json", is_flag=True, help="JSON lines instead of a table.")
def list_(db: str | None, as_json: bool) -> None:
    """Show hooks (URLs redacted, secrets never shown) and their rules."""
    store, _ = _store(db)
    rules = store.rules()
    for hook in store.hooks():
        mine = [r for r in rules if hook["id"] in r["hook_ids"]]
        if as_json:
            click.echo(json.dumps({**hook, "rules": mine}, default=str))
            continue
        secret = "signed" if hook["has_secret"] else "unsigned"
        click.echo(
            f"{hook['id']}  {hook['type']:<7} {hook['url']}  {secret}  "
            f"{'enabled' if hook['enabled'] else 'disabled'}  {hook['name']}"
        )
        for r in mine:
            click.echo(
                f"    rule {r['id']}: query {r['query_id']} {r['condition']} "
                f"open {r['open_after']} close {r['close_after']}"
            )


@command.command("remove")
@click.argument("hook_id")
@db_option
def remove(hook_id: str, db: str | None) -> None:
    """Remove a hook; its pending deliveries are marked dead ("hook removed")."""
    store, _ = _store(db)
    if not store.remove_hook(hook_id):
        raise ConfigError("HOOK_ID", hook_id, "the id of a registered hook (see hooks list)")
    click.echo(f"removed hook {hook_id}")

"""``feedwatch run --hook``: alerts on the run's own answers, in the same process.

The run registers each ``--hook`` (a stable id per URL, so re-runs on the same
database reuse it) and one ``matched`` rule per question (``verified`` with
``--verify``: only windows the VLM confirmed count) with ``--open-after`` /
``--close-after``; the evaluator starts at the newest stored answer, so answers of
earlier runs raise nothing. At the end of a file the run waits up to
``FEEDWATCH_HOOKS_WAIT_ON_EXIT_S`` for pending deliveries and says how many remain.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Engine

from connectors.store.alerts_repo import AlertStore
from connectors.store.secret_box import SecretBox
from pipeline.alerts.model import Condition, ConditionKind, Rule
from pipeline.errors import ConfigError
from workers.alerts.engine import AlertService, incident_links
from workers.config import HooksSettings, Settings, secret_box

SLACK_HOSTS = ("hooks.slack.com",)


@dataclass(frozen=True)
class HookSpec:
    """A hook given on the command line of ``feedwatch run``."""

    url: str
    secret: str | None = None
    type: str = "webhook"


def hook_id_for(spec: HookSpec) -> str:
    """Stable per URL, so re-running on the same database reuses the hook."""
    return "run-" + hashlib.sha256(spec.url.encode()).hexdigest()[:12]


@dataclass(frozen=True)
class RunHooks:
    """The alerting options of ``feedwatch run``."""

    urls: tuple[str, ...] = ()
    secret: str | None = None
    open_after: int = 2
    close_after: int = 2
    verify: bool = False

    def specs(self) -> list[HookSpec]:
        return [HookSpec(u, self.secret, guess_type(u)) for u in self.urls]

    def condition(self) -> Condition:
        return Condition(ConditionKind.VERIFIED if self.verify else ConditionKind.MATCHED)


def ensure_run_alerts(
    engine: Engine,
    settings: HooksSettings,
    hooks: RunHooks,
    query_ids: Sequence[str],
    *,
    resolve: Any = None,
    secrets: SecretBox | None = None,
) -> list[str]:
    """Register the run's hooks and one rule per query; returns the rule ids."""
    store = AlertStore(engine, secrets)
    existing = {h.id: h for h in store.hook_rows()}
    ids = []
    for spec in hooks.specs():
        hid = hook_id_for(spec)
        store.add_hook(
            spec.url,
            type=spec.type,
            name="feedwatch run",
            secret=spec.secret,
            allow_private=settings.allow_private,
            hook_id=hid,
            resolve=resolve,
            replace=hid in existing,
        )
        ids.append(hid)
    known_rules = {r["id"] for r in store.rules()}
    rule_ids = []
    for q in query_ids:
        rid = f"run-{q}-{hashlib.sha256('|'.join(ids).encode()).hexdigest()[:8]}"
        rule = Rule(
            rid,
            q,
            hooks.condition(),
            open_after=hooks.open_after,
            close_after=hooks.close_after,
            hooks=tuple(ids),
        )
        store.add_rule(rule, replace=rid in known_rules)
        rule_ids.append(rid)
    return rule_ids


def start_embedded_alerts(
    engine: Engine,
    settings: HooksSettings,
    hooks: RunHooks,
    query_ids: Sequence[str],
    **sender_kwargs: Any,
) -> AlertService:
    """For ``feedwatch run --hook``: register hooks and rules, skip answers stored before
    now, start both loops. Call ``.drain(settings.wait_on_exit_s)`` then ``.stop()``."""
    ensure_run_alerts(engine, settings, hooks, query_ids, resolve=sender_kwargs.get("resolve"),
                      secrets=sender_kwargs.get("secrets"))
    service = AlertService.from_settings(engine, settings, **sender_kwargs)
    service.outbox.init_cursor("latest")
    return service.start()


def guess_type(url: str) -> str:
    """``slack`` for Slack's incoming-webhook host, else the generic ``webhook``."""
    return "slack" if (urlsplit(url).hostname or "") in SLACK_HOSTS else "webhook"


@dataclass
class RunAlerts:
    """What ``feedwatch run`` holds while alerting: its own store handle and the service."""

    store: Any
    service: AlertService
    started: float = field(default_factory=time.time)

    def finish(self, timeout: float, say: Callable[[str], None]) -> int:
        """Drain (bounded), report, stop; returns the deliveries still pending."""
        try:
            left = self.service.drain(timeout)
            counts = self.service.outbox.settled_since(self.started)
            dead = counts.get("dead", 0)
            gave_up = (f"; {dead} dead, given up (the warnings above and GET "
                       "/api/deliveries?status=dead say why)" if dead else "")
            if left:
                say(
                    f"alerts: {left} deliveries still pending after {timeout:g}s; "
                    "they stay in the store (run `feedwatch alerts` to send them)" + gave_up
                )
            elif dead:
                say(f"alerts: {counts.get('delivered', 0)} delivered{gave_up}")
            else:
                say("alerts: all notifications delivered")
            return left
        finally:
            self.service.stop()
            self.store.close()


def start_for_run(
    settings: Settings, hooks: RunHooks, query_ids: Sequence[str]
) -> RunAlerts | None:
    """Start alerting for a run, or ``None`` without ``--hook``."""
    if hooks.secret and not hooks.urls:
        raise ConfigError("--hook-secret", "***", "only together with --hook URL")
    if not hooks.urls:
        return None
    from connectors.store import Store

    store = Store.from_url(settings.store.url)
    service = start_embedded_alerts(store.engine, settings.hooks, hooks, query_ids,
                                    decorate=incident_links(settings, store.engine),
                                    secrets=secret_box(settings))
    return RunAlerts(store, service)


def with_allow_private(settings: Settings, allow: bool) -> Settings:
    """``settings`` with ``hooks.allow_private`` switched on by ``--hook-allow-private``."""
    if not allow:
        return settings
    hooks = settings.hooks.model_copy(update={"allow_private": True})
    return settings.model_copy(update={"hooks": hooks})

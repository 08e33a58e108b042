"""Hooks and rules CRUD, incident and delivery listings (the CLI and API use these).

Rows are turned into the pure engine's value objects here (:func:`rule_of`,
:func:`policy_of`, :func:`target_of`), so the evaluator and the API agree on them.
Hook URLs are checked when a hook is added (scheme and resolved addresses, see
:mod:`connectors.hooks.safety`) and again before every send. Secrets are stored sealed
(:mod:`connectors.store.secret_box`: refused without a key) so deliveries can be
signed, but never returned: listings say ``has_secret`` only. A Slack hook's URL is a
secret too (it is the credential): stored sealed the same way, opened to be sent to,
and listed redacted like every URL.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import SecretStr
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from connectors.hooks.base import HookTarget, UnsafeTargetError, redact_url
from connectors.hooks.delivery import CHANNELS
from connectors.hooks.safety import check_target
from connectors.store.alerts_models import (
    AlertRuleRow,
    DeliveryAttemptRow,
    DeliveryRow,
    DeliveryStatus,
    HookRow,
    IncidentRow,
)
from connectors.store.db import store_errors
from connectors.store.models import QueryRow
from connectors.store.secret_box import SecretBox, is_sealed, seal, unseal
from connectors.store.secret_rows import URL_IS_SECRET
from pipeline.alerts.model import Condition, ConditionKind, HookPolicy, Rule, check_hook_limits
from pipeline.errors import ConfigError


@dataclass(frozen=True)
class PolicyDefaults:
    """Limits for hooks that do not set their own."""

    cooldown_s: float = 0.0
    rate_cap: int = 0
    rate_period_s: float = 3600.0


def new_id() -> str:
    return uuid.uuid4().hex[:16]


def rule_of(row: AlertRuleRow) -> Rule:
    condition = Condition(ConditionKind(row.condition), row.threshold, row.pattern)
    return Rule(
        id=row.id,
        query_id=row.query_id,
        condition=condition,
        open_after=row.open_after,
        close_after=row.close_after,
        min_duration=row.min_duration_s,
        notify_close=row.notify_close,
        hooks=tuple(row.hook_ids or ()),
    )


def policy_of(row: HookRow, defaults: PolicyDefaults) -> HookPolicy:
    return HookPolicy(
        id=row.id,
        cooldown=defaults.cooldown_s if row.cooldown_s is None else row.cooldown_s,
        rate_cap=defaults.rate_cap if row.rate_cap is None else row.rate_cap,
        rate_period=defaults.rate_period_s if row.rate_period_s is None else row.rate_period_s,
    )


def target_of(row: HookRow, secrets: SecretBox | None = None) -> HookTarget:
    """The hook as the sender needs it, its secret opened (a sealed one needs the key)."""
    plain = unseal(secrets, row.secret, f"hooks.{row.id}.secret")
    secret = SecretStr(plain) if plain else None
    url = unseal(secrets, row.url, f"hooks.{row.id}.url") or ""
    return HookTarget(id=row.id, url=url, type=row.type, secret=secret)


def shown_url(row: HookRow, secrets: SecretBox | None = None) -> str:
    """The hook's URL redacted (``scheme://host/…``); a sealed one is opened for that, or
    shown as ``(sealed)`` where it cannot be (no key, or not one that opens it)."""
    if not is_sealed(row.url):
        return redact_url(row.url)
    try:
        return redact_url(unseal(secrets, row.url, f"hooks.{row.id}.url") or "")
    except ConfigError:
        return "(sealed)"


def hook_info(row: HookRow, secrets: SecretBox | None = None) -> dict[str, Any]:
    """A hook as shown to people: URL redacted, secret never shown."""
    return {
        "id": row.id,
        "name": row.name,
        "type": row.type,
        "url": shown_url(row, secrets),
        "has_secret": bool(row.secret),
        "enabled": row.enabled,
        "cooldown_s": row.cooldown_s,
        "rate_cap": row.rate_cap,
        "rate_period_s": row.rate_period_s,
        "created_at": row.created_at,
    }


def rule_info(row: AlertRuleRow) -> dict[str, Any]:
    return {c: getattr(row, c) for c in AlertRuleRow.__table__.columns.keys()}  # noqa: SIM118


def row_dict(row: Any) -> dict[str, Any]:
    return {c: getattr(row, c) for c in type(row).__table__.columns.keys()}  # noqa: SIM118


class AlertStore:
    """CRUD over hooks and alert rules; read-only views of incidents and deliveries."""

    def __init__(self, engine: Engine, secrets: SecretBox | None = None) -> None:
        self.engine = engine
        self.secrets = secrets  # seals hook secrets; None: a hook secret is refused

    def _session(self) -> Session:
        return Session(self.engine, expire_on_commit=False)

    def _run(self, work: Any) -> Any:
        with store_errors("alert store failed"), self._session() as session, session.begin():
            return work(session)

    # -- hooks -----------------------------------------------------------------------
    def add_hook(
        self,
        url: str,
        *,
        type: str = "webhook",  # noqa: A002
        name: str = "",
        secret: str | None = None,
        allow_private: bool = False,
        cooldown_s: float | None = None,
        rate_cap: int | None = None,
        rate_period_s: float | None = None,
        hook_id: str | None = None,
        resolve: Any = None,
        replace: bool = False,
    ) -> dict[str, Any]:
        """Register a hook after checking its type and target; returns its info.

        ``replace`` updates an existing hook of the same id in place (its pending
        deliveries keep going to the new settings)."""
        if type not in CHANNELS:
            raise ConfigError("hook.type", type, f"one of {', '.join(sorted(CHANNELS))}")
        check_hook_limits(cooldown_s, rate_cap, rate_period_s)
        _check_url(url, allow_private, resolve)
        sealed = seal(self.secrets, secret, "hook.secret")
        stored_url = _stored_url(self.secrets, type, url)
        row = HookRow(
            id=hook_id or new_id(),
            name=name,
            type=type,
            url=stored_url,
            secret=sealed,
            enabled=True,
            cooldown_s=cooldown_s,
            rate_cap=rate_cap,
            rate_period_s=rate_period_s,
            created_at=time.time(),
        )
        self._run(lambda s: s.merge(row) if replace else s.add(row))
        return hook_info(row, self.secrets)

    def hooks(self) -> list[dict[str, Any]]:
        rows = self._run(lambda s: list(s.scalars(select(HookRow).order_by(HookRow.created_at))))
        return [hook_info(r, self.secrets) for r in rows]

    def hook_rows(self) -> list[HookRow]:
        return list(self._run(lambda s: list(s.scalars(select(HookRow)))))

    def remove_hook(self, hook_id: str) -> bool:
        """Delete a hook; its pending deliveries become dead ("hook removed")."""

        def work(session: Session) -> bool:
            row = session.get(HookRow, hook_id)
            if row is None:
                return False
            session.delete(row)
            session.execute(
                update(DeliveryRow)
                .where(DeliveryRow.hook_id == hook_id)
                .where(DeliveryRow.status.in_([DeliveryStatus.PENDING, DeliveryStatus.SENDING]))
                .values(
                    status=DeliveryStatus.DEAD, last_error="hook removed", updated_at=time.time()
                )
            )
            return True

        return bool(self._run(work))

    # -- rules -----------------------------------------------------------------------
    def add_rule(
        self, rule: Rule, *, enabled: bool = True, replace: bool = False
    ) -> dict[str, Any]:
        """Store a validated rule (its hooks must exist); ``replace`` updates in place."""

        def work(session: Session) -> AlertRuleRow:
            missing = [h for h in rule.hooks if session.get(HookRow, h) is None]
            if missing:
                raise ConfigError("rule.hooks", missing, "ids of registered hooks")
            row = AlertRuleRow(
                id=rule.id or new_id(),
                query_id=rule.query_id,
                condition=rule.condition.kind.value,
                threshold=rule.condition.threshold,
                pattern=rule.condition.pattern,
                open_after=rule.open_after,
                close_after=rule.close_after,
                min_duration_s=rule.min_duration,
                notify_close=rule.notify_close,
                hook_ids=list(rule.hooks),
                enabled=enabled,
                created_at=time.time(),
            )
            return session.merge(row) if replace else _added(session, row)

        return rule_info(self._run(work))

    def stored_answerer(self, query_id: str) -> str | None:
        """The answerer of stored, not removed query ``query_id`` (None: a rule never fires)."""
        def work(session: Session) -> str | None:
            row = session.get(QueryRow, query_id)
            return None if row is None or row.deleted else str(row.answerer)

        return self._run(work)

    def rules(self, query_id: str | None = None) -> list[dict[str, Any]]:
        stmt = select(AlertRuleRow).order_by(AlertRuleRow.created_at)
        if query_id is not None:
            stmt = stmt.where(AlertRuleRow.query_id == query_id)
        return [rule_info(r) for r in self._run(lambda s: list(s.scalars(stmt)))]

    def remove_rule(self, rule_id: str) -> bool:
        def work(session: Session) -> bool:
            row = session.get(AlertRuleRow, rule_id)
            if row is not None:
                session.delete(row)
            return row is not None

        return bool(self._run(work))

    # -- views -------------------------------------------------------------------------
    def incidents(self, *, state: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        stmt = select(IncidentRow).order_by(IncidentRow.opened_at.desc()).limit(limit)
        if state is not None:
            stmt = stmt.where(IncidentRow.state == state)
        return [row_dict(r) for r in self._run(lambda s: list(s.scalars(stmt)))]

    def deliveries(
        self, *, status: str | None = None, incident_id: str | None = None, limit: int = 100
    ) -> list[dict[str, Any]]:
        stmt = select(DeliveryRow).order_by(DeliveryRow.id.desc()).limit(limit)
        if status is not None:
            stmt = stmt.where(DeliveryRow.status == status)
        if incident_id is not None:
            stmt = stmt.where(DeliveryRow.incident_id == incident_id)
        return [row_dict(r) for r in self._run(lambda s: list(s.scalars(stmt)))]

    def attempts(self, delivery_ids: Sequence[int] | None = None) -> list[dict[str, Any]]:
        stmt = select(DeliveryAttemptRow).order_by(DeliveryAttemptRow.id)
        if delivery_ids is not None:
            stmt = stmt.where(DeliveryAttemptRow.delivery_id.in_(list(delivery_ids)))
        return [row_dict(r) for r in self._run(lambda s: list(s.scalars(stmt)))]


def _added(session: Session, row: Any) -> Any:
    session.add(row)
    return row


def _stored_url(secrets: SecretBox | None, hook_type: str, url: str) -> str:
    """A Slack URL sealed, refused without a key (field ``hook.slack.url``: the API answers
    422 on the body's ``url``, not the 403 of a refused target); others as given."""
    if hook_type not in URL_IS_SECRET:
        return url
    return str(seal(secrets, url, "hook.slack.url"))


def _check_url(url: str, allow_private: bool, resolve: Any) -> None:
    kwargs = {"resolve": resolve} if resolve is not None else {}
    try:
        check_target(url, allow_private=allow_private, **kwargs)
    except UnsafeTargetError as exc:
        raise ConfigError("hook.url", redact_url(url), exc.reason) from exc
    except OSError as exc:
        raise ConfigError("hook.url", redact_url(url), f"a resolvable host ({exc})") from exc

"""What the alert bench reads back from the store of a run: whether all its work was
done (every due window answered, every incident closed, delivered and clipped), and
what the clips cost."""

from __future__ import annotations

from typing import Any

from pipeline.types import StandingQuery


def read_back(url: str, query: StandingQuery,
              spans: dict[str, list[tuple[float, float]]]) -> dict[str, Any]:
    """The run's work and clip costs from the store at ``url``; ``spans`` are the
    segments each camera produced (the due windows are counted from them)."""
    from connectors.store import Store

    store = Store.from_url(url, upgrade=False)
    try:
        return {"work": work(store.engine, query, spans), "clip_cost": clip_costs(store.engine)}
    finally:
        store.close()


def work(engine: Any, query: StandingQuery,
         spans: dict[str, list[tuple[float, float]]]) -> dict[str, Any]:
    """Answers against the due windows, open incidents, deliveries not settled or held
    back by a hook policy (an event not measured), clips not cut; ``shortfall`` names
    what is missing (empty: all work finished)."""
    from sqlalchemy import func, select
    from sqlalchemy.orm import Session

    from connectors.store.alerts_models import DeliveryRow, IncidentRow
    from connectors.store.clips import IncidentClipRow
    from connectors.store.models import AnswerRow
    from workers.bench.e2e import expected_answers

    with Session(engine) as s:
        answers = s.scalar(select(func.count()).select_from(AnswerRow).where(
            AnswerRow.query_id == query.id)) or 0
        incidents = list(s.scalars(select(IncidentRow)))
        pending = s.scalar(select(func.count()).select_from(DeliveryRow).where(
            DeliveryRow.status.in_(("pending", "sending")))) or 0
        held = s.scalar(select(func.count()).select_from(DeliveryRow).where(
            DeliveryRow.status == "suppressed")) or 0
        clips = {(r.incident_id, r.phase) for r in s.scalars(select(IncidentClipRow))}
    missing = sum((i.id, "open") not in clips for i in incidents) + sum(
        (i.id, "close") not in clips for i in incidents if i.closed_at is not None)
    out = {"answers": int(answers), "answers_expected": expected_answers([query], spans),
           "incidents": len(incidents),
           "incidents_open": sum(i.closed_at is None for i in incidents),
           "deliveries_pending": int(pending), "deliveries_suppressed": int(held),
           "clips_missing": missing}
    short = {"answers": max(0, out["answers_expected"] - out["answers"]),
             "incidents_open": out["incidents_open"], "deliveries_pending": int(pending),
             "deliveries_suppressed": int(held), "clips_missing": missing}
    out["shortfall"] = {k: v for k, v in short.items() if v}
    return out


def clip_costs(engine: Any) -> dict[str, Any]:
    """CPU seconds and bytes per clip-second of the ready clips (their rows' figures),
    and their bytes against the segment bytes they were cut from."""
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from connectors.store.clips import IncidentClipRow

    with Session(engine) as s:
        rows = [r for r in s.scalars(select(IncidentClipRow)) if r.state == "ready"]
    seconds = sum(r.duration for r in rows)
    if not rows or not seconds:
        return {"clips": len(rows), "clip_seconds": 0.0, "cpu_s_per_clip_second": None,
                "bytes_per_clip_second": None, "bytes_vs_segments": None}
    size = sum(r.bytes for r in rows)
    return {
        "clips": len(rows), "clip_seconds": round(seconds, 1),
        "cpu_s_per_clip_second": round(sum(r.cpu_s for r in rows) / seconds, 5),
        "bytes_per_clip_second": round(size / seconds),
        "bytes_vs_segments": round(size / max(1, sum(r.source_bytes for r in rows)), 3),
    }

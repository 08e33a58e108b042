"""Tracks and hook states to and from plain dicts, for durable storage."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pipeline.alerts.model import HookState, Incident, IncidentState, Track


def track_to_dict(track: Track) -> dict[str, Any]:
    """A JSON-ready form of a track (for the store)."""
    data: dict[str, Any] = {
        "hits": track.hits,
        "misses": track.misses,
        "run_start": track.run_start,
        "last_text": track.last_text,
        "last_window_end": track.last_window_end,
        "incident": None,
    }
    if track.incident is not None:
        data["incident"] = {
            **track.incident.__dict__,
            "state": track.incident.state.value,
            "notified": list(track.incident.notified),
        }
    return data


def track_from_dict(data: Mapping[str, Any]) -> Track:
    raw = data.get("incident")
    incident = None
    if raw is not None:
        incident = Incident(
            **{
                **raw,
                "state": IncidentState(raw["state"]),
                "notified": tuple(raw.get("notified", ())),
            }
        )
    return Track(
        hits=int(data.get("hits", 0)),
        misses=int(data.get("misses", 0)),
        run_start=data.get("run_start"),
        last_text=data.get("last_text"),
        last_window_end=data.get("last_window_end"),
        incident=incident,
    )


def hook_state_to_dict(state: HookState) -> dict[str, Any]:
    return {"sent": list(state.sent), "last_open": dict(state.last_open)}


def hook_state_from_dict(data: Mapping[str, Any]) -> HookState:
    return HookState(
        sent=tuple(float(t) for t in data.get("sent", ())),
        last_open={str(k): float(v) for k, v in dict(data.get("last_open", {})).items()},
    )


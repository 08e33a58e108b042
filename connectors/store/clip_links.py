"""The links a notification carries: a signed clip and snapshot URL per incident.

Added when a notification is sent (not when it is queued), so a retried delivery
carries links that are valid for the whole ``ttl`` from its own send, and
``clip_state`` says what the clip is at that moment: ``pending`` (an ``opened``
notification never waits for its clip; a ``clip_ready`` one follows when it settles),
``ready``, ``expired`` (the segments were gone), ``failed`` or ``skipped``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from connectors.hooks.base import HookMessage
from connectors.hooks.links import LinkSigner, clip_path, snapshot_path
from connectors.store.clip_followup import SETTLED, ClipFollowUp
from connectors.store.clips import ClipStore, link_key
from connectors.store.secret_box import SecretBox


@dataclass(frozen=True)
class IncidentLinks:
    """Signs the clip and snapshot links of incidents (``public_url`` set)."""

    signer: LinkSigner
    clips: ClipStore

    @classmethod
    def from_config(cls, engine: Any, public_url: str, ttl: float, key: str = "",
                    key_file: str = "", secrets: SecretBox | None = None) -> IncidentLinks | None:
        """None without a public URL (a link nobody can open is not sent)."""
        if not public_url:
            return None
        signer = LinkSigner(link_key(engine, key, key_file, secrets), public_url, ttl)
        return cls(signer, ClipStore(engine))

    def clip_url(self, incident_id: str) -> str:
        return self.signer.url(clip_path(incident_id))

    def snapshot_url(self, incident_id: str) -> str:
        return self.signer.url(snapshot_path(incident_id))

    def state(self, incident_id: str) -> str:
        best = self.clips.best(incident_id)
        return "pending" if best is None else best.state

    def decorate(self, message: HookMessage) -> HookMessage:
        """``message`` with its incident's links and the clip's state now; an ``opened``
        one sent before a clip settled is followed by ``clip_ready`` (see
        :mod:`connectors.store.clip_followup`)."""
        iid = message.incident_id
        state = self.state(iid)
        if message.event == "opened" and state not in SETTLED:
            state = ClipFollowUp(self.clips.engine).opened_pending(iid)
        return replace(message, clip_url=self.clip_url(iid), snapshot_url=self.snapshot_url(iid),
                       clip_state=state)

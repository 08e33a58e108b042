"""The ``cascade`` answerer: a CLIP gate in front of the VLM.

The ``clip`` answerer (built through the registry, used through its public
interface) answers every window first. A window it marks matched, or leaves
uncertain, goes to the ``vlm`` answerer, whose yes/no decides; the other windows are
decided by CLIP ("no") and cost no VLM call. Uncertain is: no decision; in the adaptive
mode (the default), a no whose score lies within ``band_spreads`` of the tracker's own
spreads below the level it was decided against (whatever the support said), or, while
the support alone decides, one that would be yes at that much more sensitivity — so the
band means the same for any CLIP, whatever the range of its cosines; with a fixed
threshold, a score within ``band`` (a cosine) below it. The questions that reach the VLM
on one window are generated together, as one batch over visual tokens shared per frame.

A VLM yes to a window the adaptive CLIP stage said no to is taught to its tracker
(``teach``, on by default: the window is taken as present): a state the zero-shot
support doubts — the asked thing in view from a camera's first frame — is then held by
the tracker instead of learned as the camera's absent level, so the windows after it
still reach the VLM. Only a yes teaches: a VLM's no never keeps a window from the VLM
later, so a VLM that misses the asked thing once does not silence the stage.

A static scene costs one VLM call, not one per window: when the frames a window
selected did not change since the VLM last answered this (question, camera) — the
same frames, or every selected frame within ``reuse_distance`` (cosine distance of
CLIP global embeddings) of one the VLM saw, both ways — the earlier verdict is
reused, for at most ``reuse_max_age`` seconds of stream time. The default 0.05 was
chosen with the runs of ``feedwatch bench cascade`` on seeds 0–5 (its tuning range,
shapes-demo CLIP): VLM calls per window 0.36 / 0.30 / 0.24 at 0.02 / 0.05 / 0.1, and no reused
verdict came from a window whose truth differed at any of them; 0.05 keeps a margin.

Each answer records both stages in ``stages``: the CLIP score, threshold and
decision, the VLM text, verdict and tokens (or where its verdict was reused from),
and which stage decided. ``visual_tokens`` counts the tokens fed to the VLM for
this window (0 when CLIP decided or a verdict was reused). :attr:`counts` keeps
windows and VLM calls per (question, camera) for metrics.
"""

from __future__ import annotations

import builtins
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, ClassVar

import numpy as np
from pydantic import Field

from pipeline.answerers.base import (
    Answerer,
    AnswererSettings,
    AnswerResult,
    BatchAnswerer,
    QueryEmbs,
    TextEncoder,
    Window,
    answerer_class,
    parse_settings,
    register,
)
from pipeline.perception import Selection
from pipeline.types import Answer, EncodedFrame, FloatArray, StandingQuery

DESCRIBE_PROMPT = (
    "USER: <image>\n{question} Answer yes or no first, then say in one sentence what the "
    "frames show. ASSISTANT:"
)


class CascadeSettings(AnswererSettings):
    """Settings of the ``cascade`` answerer; ``clip`` and ``vlm`` are those answerers' own."""

    clip: dict[str, Any] = Field(default_factory=dict)
    vlm: dict[str, Any] = Field(default_factory=dict)
    band: float = Field(default=0.05, ge=0.0, le=2.0)
    """A fixed-threshold CLIP stage's band: a no scoring this much below the threshold
    goes to the VLM."""
    band_spreads: float = Field(default=1.0, ge=0.0, le=10.0)
    """The adaptive CLIP stage's band, in its tracker's spreads (0: the cosine ``band``
    instead)."""
    teach: bool = True
    """A VLM yes to a window the adaptive CLIP stage said no to is taught to its tracker
    (that window present); a VLM no teaches nothing."""
    reuse_distance: float = Field(default=0.05, ge=0.0, le=2.0)
    reuse_max_age: float = Field(default=300.0, ge=0.0)


@dataclass(frozen=True)
class _Verdict:
    """What the VLM said about one (question, camera), and on which frames."""

    times: tuple[float, ...]
    embs: FloatArray
    at: float
    result: AnswerResult


@register
class CascadeAnswerer(BatchAnswerer):
    """CLIP decides the clear "no" windows; the VLM verifies the rest."""

    type: ClassVar[str] = "cascade"
    config_cls: ClassVar[builtins.type[AnswererSettings]] = CascadeSettings
    keeps_baselines: ClassVar[bool] = True
    uses_vlm: ClassVar[bool] = True
    stages: ClassVar[Mapping[str, str]] = {"clip": "clip", "vlm": "vlm"}

    def __init__(self, settings: CascadeSettings, clip: Answerer, vlm: Answerer) -> None:
        self.settings = settings
        self.clip = clip
        self.vlm = vlm
        if hasattr(clip, "near_spreads"):  # the adaptive stage says which no is near yes
            clip.near_spreads = settings.band_spreads
        self.counts: Counter[tuple[str, str, str]] = Counter()  # (query, camera, windows|vlm)
        self._verdicts: dict[tuple[str, str], _Verdict] = {}

    @classmethod
    def build(cls, config: Any, *, encoder: TextEncoder, vlm_spec: str = "") -> CascadeAnswerer:
        clip_cls, vlm_cls = answerer_class("clip"), answerer_class("vlm")
        clip_cfg = parse_settings(clip_cls.config_cls, config.clip, "cascade.clip")
        vlm_cfg = parse_settings(
            vlm_cls.config_cls, {"prompt": DESCRIBE_PROMPT, **config.vlm}, "cascade.vlm"
        )
        clip = clip_cls.build(clip_cfg, encoder=encoder)
        return cls(config, clip, vlm_cls.build(vlm_cfg, encoder=encoder, vlm_spec=vlm_spec))

    def answer_many(self, queries: Sequence[StandingQuery], window: Window,
                    selections: Sequence[Selection], query_embs: QueryEmbs) -> list[AnswerResult]:
        gates = self.clip.answer_many(queries, window, selections, query_embs)
        camera = window[0].camera if window else ""
        verdicts: dict[int, AnswerResult | _Verdict] = {}
        ask = []
        for i, (query, gate, sel) in enumerate(zip(queries, gates, selections, strict=True)):
            self.counts[(query.id, camera, "windows")] += 1
            if not self._passes(gate):
                continue
            reusable = self._reusable(query.id, camera, window, sel)
            if reusable is not None:
                verdicts[i] = reusable
            else:
                ask.append(i)
        verdicts.update(self._ask_vlm(ask, queries, window, selections, query_embs, camera))
        taught = {i for i, v in verdicts.items() if self._teach(queries[i], window, gates[i], v)}
        return [self._combine(gates[i], verdicts.get(i), i in ask, i in taught)
                for i in range(len(queries))]

    def _teach(self, query: StandingQuery, window: Window, gate: AnswerResult,
               verdict: AnswerResult | _Verdict) -> bool:
        """A VLM yes to a window the CLIP stage said no to (or had no answer for) is
        taught to its tracker (``confirm``): a state the support doubted, present from a
        camera's first frame, is then held, not learned as the absent level."""
        said = verdict.result if isinstance(verdict, _Verdict) else verdict
        confirm = getattr(self.clip, "confirm", None)
        if not self.settings.teach or said.matched is not True or gate.matched is True:
            return False
        return bool(confirm(query, window)) if confirm is not None else False

    def use_states(self, states: Any) -> None:
        """Where the CLIP stage keeps its baselines (the store, in a worker)."""
        use = getattr(self.clip, "use_states", None)
        if use is not None:
            use(states)

    def _passes(self, gate: AnswerResult) -> bool:
        """Matched, undecided, near yes by the adaptive stage's own spreads, or (a fixed
        threshold) a score within ``band`` below it."""
        if gate.matched is not False:
            return True
        if gate.near is not None:
            return gate.near
        if gate.score is None or gate.threshold is None:
            return False
        return gate.score >= gate.threshold - self.settings.band

    def _ask_vlm(
        self,
        ask: list[int],
        queries: Sequence[StandingQuery],
        window: Sequence[EncodedFrame],
        selections: Sequence[Selection],
        query_embs: Sequence[np.ndarray[Any, Any]] | FloatArray,
        camera: str,
    ) -> dict[int, AnswerResult]:
        if not ask:
            return {}
        results = self.vlm.answer_many(
            [queries[i] for i in ask],
            window,
            [selections[i] for i in ask],
            [query_embs[i] for i in ask],
        )
        for i, result in zip(ask, results, strict=True):
            self.counts[(queries[i].id, camera, "vlm")] += 1
            self._remember(queries[i].id, camera, window, selections[i], result)
        return dict(zip(ask, results, strict=True))

    def _remember(
        self,
        query_id: str,
        camera: str,
        window: Sequence[EncodedFrame],
        sel: Selection,
        result: AnswerResult,
    ) -> None:
        embs = _embs(window, sel)
        at = max(sel.times, default=0.0)
        self._verdicts[(query_id, camera)] = _Verdict(tuple(sel.times), embs, at, result)

    def _reusable(
        self, query_id: str, camera: str, window: Sequence[EncodedFrame], sel: Selection
    ) -> _Verdict | None:
        prev = self._verdicts.get((query_id, camera))
        if prev is None or not sel.indices:
            return None
        if max(sel.times) - prev.at > self.settings.reuse_max_age:
            return None
        if tuple(sel.times) == prev.times:
            return prev
        sims = _embs(window, sel) @ prev.embs.T
        far = max(float(1.0 - sims.max(axis=1).min()), float(1.0 - sims.max(axis=0).min()))
        return prev if far <= self.settings.reuse_distance else None

    def _combine(
        self, gate: AnswerResult, verdict: AnswerResult | _Verdict | None, called: bool,
        taught: bool = False,
    ) -> AnswerResult:
        clip_stage = {
            "score": gate.score,
            "matched": gate.matched,
            "threshold": gate.threshold,
            "band": self.settings.band if gate.near is None else None,
            "band_spreads": self.settings.band_spreads if gate.near is not None else None,
            "near": gate.near,
            "taught": taught,
            "visual_tokens": gate.visual_tokens,
        }
        if verdict is None:
            stages = {"decided_by": "clip", "clip": clip_stage, "vlm": None}
            return replace(gate, text="no", matched=False, visual_tokens=0, stages=stages)
        vlm = verdict.result if isinstance(verdict, _Verdict) else verdict
        vlm_stage = {
            "text": vlm.text,
            "matched": vlm.matched,
            "visual_tokens": vlm.visual_tokens if called else 0,
            "called": called,
            "reused_from": None if called else _reused_at(verdict),
        }
        return AnswerResult(
            text=vlm.text,
            matched=vlm.matched,
            score=gate.score,
            visual_tokens=vlm.visual_tokens if called else 0,
            model_ids={**gate.model_ids, **vlm.model_ids},
            stages={"decided_by": "vlm", "clip": clip_stage, "vlm": vlm_stage},
        )

    def vlm_calls_per_window(self) -> float:
        """VLM calls over windows answered, across every (question, camera)."""
        windows = sum(n for (_q, _c, kind), n in self.counts.items() if kind == "windows")
        calls = sum(n for (_q, _c, kind), n in self.counts.items() if kind == "vlm")
        return calls / windows if windows else 0.0


def _embs(window: Sequence[EncodedFrame], sel: Selection) -> FloatArray:
    return np.stack([window[i].global_emb for i in sel.indices]).astype(np.float32)


def _reused_at(verdict: AnswerResult | _Verdict) -> float | None:
    return verdict.at if isinstance(verdict, _Verdict) else None


def vlm_called(answer: Answer) -> bool | None:
    """Whether producing ``answer`` generated with the VLM; None for answerers without one."""
    if answer.answerer == "vlm":
        return True
    if answer.answerer != "cascade":
        return None
    stage = answer.stages.get("vlm")
    return bool(stage and stage.get("called"))

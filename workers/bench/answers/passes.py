"""The passes of ``feedwatch bench answers``: one per ``clip`` mode over every clip
(and the default mode's corrected pass), each window's answer as the dump records it.

A cascade pass (``adaptive+cascade``) answers as the default mode would in front of a
VLM (the product cascade's default ``band_spreads`` and teaching): every yes, and every
no within the band of turning yes, is what the VLM would be asked about
(:class:`.metrics.Gate`); there the scene's truth stands in for a VLM that is right, and
a yes is taught to the tracker as the cascade teaches it. No VLM runs: its figures bound
what the two stages could give, they do not measure a VLM.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from pipeline.answerers import build_answerer
from pipeline.answerers.cascade import CascadeSettings
from pipeline.answerers.closer import Supports
from pipeline.answerers.corrections import Label
from pipeline.answerers.states import MemoryStates
from pipeline.perception import Selection, SelectionConfig
from pipeline.types import EncodedFrame, StandingQuery
from workers.bench.answers.metrics import (
    Answered,
    EventCounts,
    Gate,
    Hindsight,
    Interval,
    Tally,
    clip_figures,
)

MODES = ("adaptive", "threshold", "margin")
DEFAULT_MODE = "adaptive"
CORRECTED = f"{DEFAULT_MODE}+corrections"
"""The corrected pass's name in ``--dump-windows``."""
CASCADE = f"{DEFAULT_MODE}+cascade"
"""The cascade pass's name (its figures are ``cascade_gate``)."""
GATE_SPREADS = CascadeSettings().band_spreads
"""The band a cascade in front of the default mode asks its VLM within."""


@dataclass(frozen=True)
class Setup:
    """How every clip is answered."""

    window: float = 4.0
    """Window length in seconds (the product default)."""
    every: float = 1.0
    """Seconds between window ends (the product default)."""
    corrections: int = 0
    """Wrong answers per clip the user corrects in the second pass."""
    second_look: float | None = None
    """The adaptive mode's second-look span in patch cells (None: the model's; 0: off)."""
    closer_look: float | None = None
    """The adaptive mode's closer-look span in patch cells (None: the answerer's; 0: off)."""
    no_calibration: bool = False
    """Ignore the model's calibration file, as for a real CLIP that ships none."""
    teach: bool = True
    """The cascade pass teaches the VLM's yes to the tracker, as the cascade does."""
    selection: SelectionConfig = field(default_factory=SelectionConfig)


class WithoutCalibration:
    """The encoder as a CLIP without a calibration file presents itself to answerers."""

    def __init__(self, encoder: Any) -> None:
        self._encoder = encoder
        self.calibration: dict[str, float] = {}

    def __getattr__(self, name: str) -> Any:
        return getattr(self._encoder, name)


@dataclass(frozen=True)
class Row:
    """One window's answer as the dump records it."""

    start: float
    end: float
    truth: bool | None
    matched: bool | None
    score: float | None
    calibrating: bool
    why: str = ""
    support: float | None = None
    unit: float | None = None
    key: float | None = None  # the tracker's window key (its newest frame's time)
    supports: Supports | None = None  # with the closer look, when dumping: all three
    near: bool | None = None  # yes or within a cascade's band of it (the cascade pass)


@dataclass
class Pass:
    """One answerer's pass over every clip, with its figures."""

    name: str
    answerer: Any
    corrections: int = 0
    tally: Tally = field(default_factory=Tally)
    events: EventCounts = field(default_factory=EventCounts)
    hindsight: Hindsight = field(default_factory=Hindsight)
    gate: Gate = field(default_factory=Gate)
    states: MemoryStates = field(default_factory=MemoryStates)
    rows: list[Row] = field(default_factory=list)
    clips: list[dict[str, Any]] = field(default_factory=list)
    """Each clip's own figures (:func:`.metrics.clip_figures`), in order."""
    left: int = 0
    record_supports: bool = False
    """Record every window's three closer-look supports (a dump of the default mode)."""
    teach: bool = False
    """The cascade pass: where a VLM would be asked, the truth is its verdict, and a yes
    is taught to the tracker as the cascade teaches it."""

    def begin(self) -> None:
        """A new clip: a new camera, so fresh states."""
        self.states = MemoryStates()
        self.answerer.use_states(self.states)
        self.rows, self.left = [], self.corrections

    def answer(self, query: StandingQuery, window: list[EncodedFrame], sel: Selection | None,
               emb: Any, start: float, end: float, truth: bool | None) -> None:
        if sel is None:  # no frame in the window: nothing to answer from
            self.rows.append(Row(start, end, truth, None, None, False))
            return
        result = self.answerer.answer(query, window, sel, emb)
        camera, key = window[-1].camera, float(window[-1].t)
        sample = next((x for x in reversed(self.states.load(query.id, camera).samples)
                       if x[0] == key), None)  # the evidence the tracker judged and kept
        row = Row(start, end, truth, result.matched, result.score,
                  "calibrating" in result.text, result.why, near=result.near)
        if sample:  # the evidence the tracker judged (and, dumping, all three supports)
            row = replace(row, support=sample[2], unit=sample[3], key=key,
                          supports=self.answerer.supports(query, window, sel, emb)
                          if self.record_supports else None)
        self.rows.append(row)
        if self.teach and truth and (result.matched is not False or result.near):
            self.answerer.confirm(query, window)  # the VLM's yes, as the cascade teaches it
        if (truth is not None and result.matched != truth and self.left > 0
                and result.score is not None):
            self.states.add_label(query.id, camera, Label(window[-1].t, result.score, truth))
            self.left -= 1

    def finish(self, name: str, background: str, events: Sequence[Interval],
               duration: float) -> None:
        """The clip was read to its end: its windows count."""
        for r in self.rows:
            if r.truth is not None:
                self.tally.add(background, r.matched == r.truth)
                if r.near is not None:
                    self.gate.add(r.truth, r.matched, r.near)
            self.tally.calibrating += r.calibrating
        answered = [Answered(r.start, r.end, r.matched) for r in self.rows]
        self.events.add(answered, events, duration)
        self.clips.append({"clip": name, "background": background, **clip_figures(
            answered, [r.truth for r in self.rows], events, duration)})
        scored = [r for r in self.rows if r.truth is not None]
        self.hindsight.add([r.score for r in scored], [bool(r.truth) for r in scored])


def build_passes(encoder: Any, setup: Setup) -> list[Pass]:
    """One pass per mode (and the corrected pass of the default one, when asked)."""
    look = {k: v for k, v in (("second_look", setup.second_look),
                              ("closer_look", setup.closer_look)) if v is not None}
    source = WithoutCalibration(encoder) if setup.no_calibration else encoder

    def build(mode: str) -> Any:
        return build_answerer("clip", {"mode": mode, **(look if mode == DEFAULT_MODE else {})},
                              encoder=source)

    passes = [Pass(m, build(m)) for m in MODES]
    cascade = Pass(CASCADE, build(DEFAULT_MODE), teach=setup.teach)
    cascade.answerer.near_spreads = GATE_SPREADS
    passes.append(cascade)
    if setup.corrections:
        passes.append(Pass(CORRECTED, build(DEFAULT_MODE), corrections=setup.corrections))
    return passes


def mode_figures(p: Pass) -> dict[str, Any]:
    """A pass's window and event figures (and, for the default mode, its gate's)."""
    out = {**p.tally.figures(), **p.events.figures(), "hindsight": p.hindsight.figures()}
    if p.gate.windows:
        out["cascade_gate"] = p.gate.figures()
    return out

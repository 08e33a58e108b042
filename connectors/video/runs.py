"""Which packets a sampling decode must feed: per GOP, from its keyframe to its last
wanted frame (pure logic on packets with ``pts`` and ``is_keyframe``)."""

from __future__ import annotations

from typing import Protocol, TypeVar


class _Packet(Protocol):
    @property
    def pts(self) -> int | None: ...
    @property
    def is_keyframe(self) -> bool: ...


P = TypeVar("P", bound=_Packet)


def minimal_runs(packets: list[P], wanted: set[int]) -> list[list[P]]:
    """Per GOP (decode order), the packets from its keyframe up to the last one whose
    frame is wanted (and the untimed pieces right after it); GOPs with no wanted frame
    are skipped whole."""
    runs: list[list[P]] = []
    gop: list[P] = []
    for p in [*packets, None]:
        if p is None or (p.is_keyframe and gop):
            last = max((i for i, q in enumerate(gop) if q.pts in wanted), default=-1)
            while 0 <= last < len(gop) - 1 and gop[last + 1].pts is None:
                last += 1
            if last >= 0:
                runs.append(gop[: last + 1])
            gop = []
        if p is not None:
            gop.append(p)
    return runs


def split_gops(packets: list[P]) -> list[list[P]]:
    """Packets (decode order) in groups that each start at a keyframe."""
    gops: list[list[P]] = []
    for p in packets:
        if p.is_keyframe or not gops:
            gops.append([])
        gops[-1].append(p)
    return gops

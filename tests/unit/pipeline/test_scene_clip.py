"""Written clips: decoded pixels match the sidecar, keyframes every 2 s."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from pipeline.scenes import COLORS, load_truth, scripted_scene, write_clip


def _decode(path: Path) -> list[tuple[float, bool, np.ndarray]]:
    import av

    with av.open(str(path)) as container:
        return [
            (float(f.time), f.key_frame, f.to_ndarray(format="rgb24"))
            for f in container.decode(video=0)
        ]


def _isolated(o, others) -> bool:  # type: ignore[no-untyped-def]
    x0, y0, x1, y1 = o.box
    return all(p.box[2] <= x0 or p.box[0] >= x1 or p.box[3] <= y0 or p.box[1] >= y1
               for p in others if p is not o)


def test_decoded_pixels_match_truth_and_keyframes_every_2s(tmp_path: Path) -> None:
    spec = scripted_scene(("red", "circle"), [(0.5, 2.5), (3.5, 5.0)], distractors=3,
                          seed=3, duration=6.0, size=(480, 270), background="gradient")
    path = write_clip(spec, tmp_path / "clip.mp4", fps=25)
    truth = load_truth(path)
    assert (truth.width, truth.height, truth.fps) == (480, 270, 25)
    assert truth.spec == spec and truth.keyframe_interval_s == 2.0
    decoded = _decode(path)
    assert len(decoded) == len(truth.frames) == 150
    keys = [round(t, 3) for t, key, _ in decoded if key]
    assert keys == [0.0, 2.0, 4.0]
    checked = 0
    for (t, _, rgb), ft in zip(decoded, truth.frames, strict=True):
        assert abs(t - ft.t) < 1e-6
        assert ft.has("red", "circle") == (0.5 <= t < 2.5 or 3.5 <= t < 5.0)
        for o in ft.objects:
            if not _isolated(o, ft.objects) or min(o.box[2] - o.box[0], o.box[3] - o.box[1]) < 10:
                continue
            cx, cy = int(o.centre[0]), int(o.centre[1])
            patch = rgb[max(cy - 1, 0):cy + 2, max(cx - 1, 0):cx + 2].reshape(-1, 3).mean(0)
            assert np.abs(patch - np.array(COLORS[o.color])).max() < 40, (t, o)
            checked += 1
    assert checked > 100

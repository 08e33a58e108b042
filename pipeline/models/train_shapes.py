"""Train ``shapes-demo``: a tiny open_clip CLIP on synthetic scenes (reproducible, CPU).

The bundled weights come from three seeded stages (≈ 1,340 steps of 64 frames; about
11 minutes on 2 free CPU cores, ``torch.set_num_threads(2)``)::

    python -m pipeline.models.train_shapes --out /tmp/s1
    python -m pipeline.models.train_shapes --out /tmp/s2 --init /tmp/s1 --steps 320 \
        --lr 1e-3 --seed 1 --hard-share 0.7 --global-weight 1
    python -m pipeline.models.train_shapes --out pipeline/models/assets/shapes-demo \
        --init /tmp/s2 --steps 320 --lr 7e-4 --seed 2 --hard-share 0.85 --global-weight 1.5

It stands in for pretrained CLIP weights (which cannot be downloaded here) so that
frame selection and RoI quality are measurable; it is not the method under test.

Data: frames of :func:`pipeline.scenes.random_scene` (every background, object size,
frame size and both levels) rendered on the fly at 2× the input size with the scene
geometry squashed to a square, then reduced exactly as the product adapter reduces
frames (bilinear, antialiased, no crop). Loss, per step:

* global: multi-label sigmoid loss of the average-pooled, projected image embedding
  against the 21 colour–shape captions (+ "a background", positive for empty frames);
* patches: the same sigmoid loss for every patch embedding (tokens after ``ln_post``
  @ ``visual.proj``, normalised — exactly what the adapter computes), with soft labels
  from the generator's object masks (covered fraction of the patch).

Captions use a random template per step ("a red circle", "is there a red circle?", ...)
so questions phrased differently still land near the right caption. A run is fixed by
its recipe (seed, steps, ...); ``--minutes`` caps the wall time: when a busy CPU makes
the time run out first, the learning-rate decay follows the clock instead (logged as
``time_capped`` in ``training.json``) and the run is no longer bit-exact.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import open_clip
import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file

from pipeline.scenes import COLORS, FRAME_SIZES, SHAPES, random_scene, render_labels
from pipeline.scenes.render import ObjectTruth

INPUT = 96
PATCH = 12
RENDER = 2 * INPUT
MEAN = (0.5, 0.5, 0.5)
STD = (0.25, 0.25, 0.25)
KINDS: list[tuple[str, str]] = [(c, s) for c in COLORS for s in SHAPES]
BACKGROUND_CAPTION = "a background"
WARMUP = 60
TEMPLATES = (
    "a {c} {s}", "a {c} {s}", "{c} {s}", "the {c} {s}", "a photo of a {c} {s}",
    "is there a {c} {s}?", "is a {c} {s} visible?", "a {c} {s} is visible",
)
MODEL_CFG: dict[str, Any] = {
    "embed_dim": 64,
    "vision_cfg": {
        "image_size": INPUT, "patch_size": PATCH, "width": 96, "layers": 3,
        "head_width": 32, "mlp_ratio": 4.0, "pool_type": "avg",
    },
    "text_cfg": {"context_length": 16, "vocab_size": 49408, "width": 64, "heads": 4, "layers": 2},
}
PREPROCESS_CFG: dict[str, Any] = {
    "size": INPUT, "mean": list(MEAN), "std": list(STD), "interpolation": "bilinear",
    "resize_mode": "squash", "image_size": INPUT,
}


@dataclass(frozen=True)
class Batch:
    pixels: torch.Tensor  # (B, 3, 96, 96) normalised
    present: torch.Tensor  # (B, K+1) global labels
    cover: torch.Tensor  # (B, h*w, K+1) soft patch labels


def build_model() -> Any:
    """The shapes-demo architecture with fresh weights (seed torch first)."""
    return open_clip.CLIP(**MODEL_CFG)


def tokenizer() -> Any:
    """open_clip's standard BPE tokenizer at the model's context length."""
    context = MODEL_CFG["text_cfg"]["context_length"]
    return open_clip.get_tokenizer("ViT-B-32", context_length=context)


def caption_texts(template: str) -> list[str]:
    return [template.format(c=c, s=s) for c, s in KINDS] + [BACKGROUND_CAPTION]


def _sample(
    seed: int, hard_share: float = 0.5
) -> tuple[np.ndarray, np.ndarray, list[ObjectTruth], list[int]]:
    rng = random.Random(seed)
    spec = random_scene(
        seed, duration=10.0, size=rng.choice(FRAME_SIZES),
        level="hard" if rng.random() < hard_share else "easy",
    )
    rgb, labels, truth = render_labels(spec, rng.uniform(0.0, 10.0), out_size=(RENDER, RENDER))
    kinds = [KINDS.index((o.color, o.shape)) for o in spec.objects]
    return rgb, labels, truth, kinds


def _labels(labels: np.ndarray, kinds: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """Global presence (K+1,) and patch cover (h*w, K+1) from one label map."""
    k, g, cell = len(KINDS), INPUT // PATCH, RENDER // (INPUT // PATCH)
    cover = np.zeros((g * g, k + 1), np.float32)
    present = np.zeros(k + 1, np.float32)
    blocks = labels.reshape(g, cell, g, cell).transpose(0, 2, 1, 3).reshape(g * g, -1)
    for index, kind in enumerate(kinds):
        frac = (blocks == index).mean(axis=1)
        if frac.any():
            present[kind] = 1.0
            cover[:, kind] = np.maximum(cover[:, kind], np.minimum(frac / 0.25, 1.0))
    cover[:, k] = (blocks < 0).mean(axis=1) > 0.97
    present[k] = float(not present[:k].any())
    return present, cover


def preprocess(rgb: np.ndarray) -> torch.Tensor:
    """(B, H, W, 3) uint8 → (B, 3, 96, 96), as the product adapter does it."""
    x = torch.from_numpy(rgb).permute(0, 3, 1, 2).float() / 255.0
    x = F.interpolate(x, size=(INPUT, INPUT), mode="bilinear", antialias=True, align_corners=False)
    mean = torch.tensor(MEAN).view(1, 3, 1, 1)
    std = torch.tensor(STD).view(1, 3, 1, 1)
    return (x.clamp(0, 1) - mean) / std


def make_batch(seeds: list[int], hard_share: float = 0.5) -> Batch:
    rgbs, presents, covers = [], [], []
    for seed in seeds:
        rgb, labels, _, kinds = _sample(seed, hard_share)
        present, cover = _labels(labels, kinds)
        rgbs.append(rgb)
        presents.append(present)
        covers.append(cover)
    return Batch(
        preprocess(np.stack(rgbs)), torch.from_numpy(np.stack(presents)),
        torch.from_numpy(np.stack(covers)),
    )


def embed_images(model: Any, pixels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Normalised global (B, D) and patch (B, h*w, D) embeddings, as the adapter does."""
    visual = model.visual
    visual.output_tokens = True
    pooled, tokens = visual(pixels)
    return F.normalize(pooled, dim=-1), F.normalize(tokens @ visual.proj, dim=-1)


class Heads(torch.nn.Module):
    """Learned sigmoid-loss temperatures and biases (training only, not saved)."""

    def __init__(self) -> None:
        super().__init__()
        self.scale = torch.nn.Parameter(torch.full((2,), math.log(10.0)))
        self.bias = torch.nn.Parameter(torch.full((2,), -4.0))

    def logits(self, sim: torch.Tensor, which: int) -> torch.Tensor:
        return sim * self.scale[which].exp() + self.bias[which]


def loss_fn(
    model: Any, heads: Heads, tok: Any, batch: Batch, template: str, global_weight: float = 1.0
) -> torch.Tensor:
    text = F.normalize(model.encode_text(tok(caption_texts(template))), dim=-1)
    g, p = embed_images(model, batch.pixels)
    lg = F.binary_cross_entropy_with_logits(heads.logits(g @ text.T, 0), batch.present)
    lp = F.binary_cross_entropy_with_logits(heads.logits(p @ text.T, 1), batch.cover)
    return global_weight * lg + lp


def lr_at(step: int, progress: float, base: float, warmup: int = WARMUP) -> float:
    """Linear warm-up over ``warmup`` steps, then cosine decay over ``progress`` in [0, 1]."""
    if step < warmup:
        return base * (step + 1) / warmup
    return base * 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))


def progress_at(step: int, steps: int, elapsed: float, cap_s: float) -> float:
    """Fraction of the run done: by steps, or by wall time when the cap comes first.

    A run that finishes its steps inside the cap is exactly reproducible; one slowed
    down (e.g. by a busy CPU) still completes its learning-rate decay, and says so.
    """
    return max(step / steps, elapsed / cap_s)


@dataclass(frozen=True)
class Recipe:
    """Everything that fixes a run (saved to training.json).

    ``hard_share``: fraction of scenes whose distractors share the first object's
    colour or shape; ``global_weight``: weight of the global loss (it drives frame
    selection) against the patch loss (it drives the RoI).
    """

    steps: int = 700
    batch: int = 64
    lr: float = 2e-3
    seed: int = 0
    hard_share: float = 0.5
    global_weight: float = 1.0
    minutes: float = 14.0
    init: str = ""  # a saved shapes-demo folder to continue from (second stage)


def train(out: Path, recipe: Recipe) -> Any:
    steps, minutes, batch, lr, seed = (
        recipe.steps, recipe.minutes, recipe.batch, recipe.lr, recipe.seed)
    torch.manual_seed(seed)
    model, heads = (load(Path(recipe.init)) if recipe.init else build_model()), Heads()
    model.train()
    tok = tokenizer()
    params = [*model.parameters(), *heads.parameters()]
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=0.05)
    rng, start, cpu0, log = random.Random(seed), time.monotonic(), time.process_time(), []
    step, progress, capped = 0, 0.0, False
    for step in range(steps):
        progress = progress_at(step, steps, time.monotonic() - start, minutes * 60)
        if progress >= 1.0:
            break
        capped = capped or (step >= WARMUP and progress > step / steps + 1e-3)
        for group in opt.param_groups:
            group["lr"] = lr_at(step, progress, lr)
        data = make_batch([seed * 10_000_000 + step * batch + i for i in range(batch)],
                          recipe.hard_share)
        loss = loss_fn(model, heads, tok, data, rng.choice(TEMPLATES), recipe.global_weight)
        opt.zero_grad(set_to_none=True)
        loss.backward()  # type: ignore[no-untyped-call]
        opt.step()
        if step % 25 == 0 or step == steps - 1:
            elapsed = round(time.monotonic() - start, 1)
            log.append({"step": step, "loss": round(loss.item(), 4), "s": elapsed,
                        "cpu_s": round(time.process_time() - cpu0, 1),
                        "lr": round(lr_at(step, progress, lr), 6)})
            print(json.dumps(log[-1]), flush=True)
    model.eval()
    done = step + 1 if progress < 1.0 else step
    save(model, out, {"recipe": asdict(recipe), "steps": done, "time_capped": capped,
                      "seconds": round(time.monotonic() - start, 1),
                      "cpu_seconds": round(time.process_time() - cpu0, 1), "log": log})
    return model


def save(model: Any, out: Path, meta: dict[str, Any]) -> None:
    """open_clip local-dir format: config JSON + fp16 safetensors (+ training log)."""
    out.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().to(torch.float16).contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(out / "open_clip_model.safetensors"))
    config = {"model_cfg": MODEL_CFG, "preprocess_cfg": PREPROCESS_CFG}
    (out / "open_clip_config.json").write_text(json.dumps(config, indent=2) + "\n")
    (out / "training.json").write_text(json.dumps(meta, indent=1) + "\n")


def load(out: Path) -> Any:
    """The saved model rebuilt from its config and weights (no open_clip factory)."""
    config = json.loads((out / "open_clip_config.json").read_text())
    model = open_clip.CLIP(**config["model_cfg"])
    state = {k: v.float() for k, v in load_file(str(out / "open_clip_model.safetensors")).items()}
    model.load_state_dict(state)
    return model.eval()


def evaluate(model: Any, *, n: int = 256, seed: int = 999_999) -> dict[str, float]:
    """Held-out frames: caption rank of present objects, patch peak inside the object."""
    tok = tokenizer()
    hits = peaks = total = 0
    with torch.inference_mode():
        text = F.normalize(model.encode_text(tok(caption_texts("a {c} {s}"))), dim=-1)[:-1]
        for i in range(0, n, 64):
            seeds = [seed * 1000 + j for j in range(i, i + 64)]
            samples = [_sample(s) for s in seeds]
            g, p = embed_images(model, preprocess(np.stack([x[0] for x in samples])))
            for b, (_, _, truth, _) in enumerate(samples):
                kinds = {KINDS.index((o.color, o.shape)) for o in truth}
                top = set(torch.topk(g[b] @ text.T, max(1, len(kinds))).indices.tolist())
                hits += len(kinds & top)
                total += len(kinds)
                peaks += sum(_peak_inside(p[b] @ text[KINDS.index((o.color, o.shape))], o)
                             for o in truth)
    return {"global_topk_recall": hits / max(total, 1), "patch_peak_in_box": peaks / max(total, 1),
            "objects": float(total)}


def _peak_inside(sim: torch.Tensor, o: ObjectTruth) -> bool:
    g = INPUT // PATCH
    idx = int(sim.argmax())
    cy, cx = (idx // g + 0.5) * RENDER / g, (idx % g + 0.5) * RENDER / g
    x0, y0, x1, y1 = o.box
    pad = RENDER / g / 2
    return x0 - pad <= cx <= x1 + pad and y0 - pad <= cy <= y1 + pad


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    ap.add_argument("--out", type=Path, required=True)
    base = Recipe()
    ap.add_argument("--steps", type=int, default=base.steps)
    ap.add_argument("--minutes", type=float, default=base.minutes, help="wall-time cap")
    ap.add_argument("--batch", type=int, default=base.batch)
    ap.add_argument("--lr", type=float, default=base.lr)
    ap.add_argument("--seed", type=int, default=base.seed)
    ap.add_argument("--hard-share", type=float, default=base.hard_share)
    ap.add_argument("--global-weight", type=float, default=base.global_weight)
    ap.add_argument("--init", default="", help="continue from this saved folder")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    recipe = Recipe(args.steps, args.batch, args.lr, args.seed, args.hard_share,
                    args.global_weight, args.minutes, args.init)
    model = train(args.out, recipe)
    metrics = evaluate(load(args.out))
    reloaded = _reload_gap(model, args.out)
    print(json.dumps({"eval": metrics, "reload_max_abs_diff": reloaded}), flush=True)
    meta = json.loads((args.out / "training.json").read_text())
    (args.out / "training.json").write_text(json.dumps({**meta, "eval": metrics}, indent=1) + "\n")


def _reload_gap(model: Any, out: Path) -> float:
    """Max |Δ| between the trained model (fp16-rounded) and open_clip's local-dir load."""
    ref = load(out)
    loaded = open_clip.create_model(f"local-dir:{out}").eval()
    x = preprocess(np.stack([_sample(s)[0] for s in range(4)]))
    with torch.inference_mode():
        a, b = embed_images(ref, x), embed_images(loaded, x)
    return float(max((a[0] - b[0]).abs().max(), (a[1] - b[1]).abs().max()))


if __name__ == "__main__":
    main()

"""Train ``shapes-demo``: a tiny open_clip CLIP on synthetic scenes (reproducible, CPU).

It stands in for pretrained CLIP weights (none can be downloaded here) so that frame
selection and RoI quality are measurable; it is not the method under test. The bundled
weights are one seeded run of the default :class:`Recipe` continued for 3,000 steps with
re-lit frames (deterministic for a given machine and thread count; ``training.json``
next to the weights keeps both recipes and the loss log)::

    python -m pipeline.models.train_shapes --out /tmp/shapes-base
    python -m pipeline.models.train_shapes --out pipeline/models/assets/shapes-demo \
        --init /tmp/shapes-base --steps 3000 --lr 0.001 --light-share 0.5

Data: a pool of frames of :func:`pipeline.scenes.random_scene` (every background,
object size, frame size and both levels), rendered once up front by ``--threads``
processes at 2× the input size with the scene geometry squashed to a square, then
reduced exactly as the product adapter reduces frames (uint8, bilinear, antialiased,
no crop). Steps draw shuffled epochs of the pool, each frame mirrored left–right with
probability ½ (all shapes are left–right symmetric; the patch labels are mirrored too).
Loss, per step:

* global: multi-label sigmoid loss of the average-pooled, projected image embedding
  against the 21 colour–shape captions (+ "a background", positive for empty frames);
* patches: the same sigmoid loss for every patch embedding (tokens after ``ln_post``
  @ ``visual.proj``, normalised — exactly what the adapter computes), with soft labels
  from the generator's object masks (covered fraction of the patch).

Captions use a random template per step ("a red circle", "is there a red circle?", ...).

Options off by default, so the default recipe still gives the bundled weights:
``--hard-negative-weight`` weights absent captions that share a colour or a shape with
what is in the frame; ``--init`` continues from a saved folder; ``--zoom-share`` makes
that share of the pool close-ups like the second look's crops (see :func:`_sample`).
``--light-share`` re-lights that share of each batch as a camera sees it at dusk and
night (:mod:`pipeline.models.augment`); ``--shape-jitter`` draws that share of the
pool's objects stretched and turned (:func:`jitter_shapes`); ``--anchor`` (with ``--init``)
keeps every present caption's cosine at least where the starting weights had it
(:func:`_anchor`). ``--foreign N`` adds N captions per step that name nothing in the
world ("a cup square", :func:`foreign_texts`), trained as absent everywhere;
``--text-only`` freezes the image tower; ``--text-anchor`` holds the world captions'
text embeddings near the ``--init`` weights'. ``--device cuda`` runs recipe
sweeps on a GPU. How the recipe was chosen, what these options were tried for and every figure
measured with them: ``docs/evaluation.md`` ("The shapes-demo model").
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import multiprocessing as mp
import random
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import open_clip
import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file

from pipeline.models.augment import photometric
from pipeline.models.clip_encoder import squash_frame
from pipeline.scenes import COLORS, FRAME_SIZES, SHAPES, SceneSpec, random_scene, render_labels
from pipeline.scenes.render import ObjectTruth

INPUT = 96
PATCH = 12
RENDER = 2 * INPUT
MEAN = (0.5, 0.5, 0.5)
STD = (0.25, 0.25, 0.25)
KINDS: list[tuple[str, str]] = [(c, s) for c in COLORS for s in SHAPES]
BACKGROUND_CAPTION = "a background"
WARMUP = 60
ZOOM = (2.0, 8 / 3)  # close-ups: the full frame is this many RENDER sides (8/3: a 3-cell crop)
STRETCH = (math.log(3 / 4), math.log(4 / 3))  # shape jitter: log of the width factor
TILT = 15.0  # shape jitter: degrees either way
FOREIGN = (
    "orange purple pink brown black gray grey gold silver beige "
    "rectangle star line box ball oval cross ring arrow heart diamond hexagon "
    "car truck bus van bicycle motorcycle train boat plane person man woman child "
    "worker dog cat bird horse door window table chair desk bag bottle cup phone "
    "laptop screen light lamp fire smoke water tree grass road sign wall floor shelf "
    "pallet forklift crate barrel cone helmet vest ladder"
).split()
"""Everyday words that name nothing in the synthetic world (``--foreign``): a caption
with one of them in place of its colour or its shape describes no frame of the pool."""
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
class Pool:
    """Pre-rendered training frames: model-input pixels and their labels."""

    pixels: torch.Tensor  # (N, 3, 96, 96) uint8, reduced exactly as the adapter does
    present: torch.Tensor  # (N, K+1) global labels
    cover: torch.Tensor  # (N, h*w, K+1) soft patch labels (float16)

    def __len__(self) -> int:
        return int(self.pixels.shape[0])

    def to(self, device: str) -> Pool:
        return Pool(self.pixels.to(device), self.present.to(device), self.cover.to(device))


def build_model() -> Any:
    """The shapes-demo architecture with fresh weights (seed torch first)."""
    return open_clip.CLIP(**MODEL_CFG)


def tokenizer() -> Any:
    """open_clip's standard BPE tokenizer at the model's context length."""
    context = MODEL_CFG["text_cfg"]["context_length"]
    return open_clip.get_tokenizer("ViT-B-32", context_length=context)


def caption_texts(template: str) -> list[str]:
    return [template.format(c=c, s=s) for c, s in KINDS] + [BACKGROUND_CAPTION]


def foreign_texts(template: str, n: int, rng: random.Random) -> list[str]:
    """``n`` captions of the template naming nothing in the world: a colour–shape
    caption with its colour or its shape (or, one in five, both) replaced by a
    :data:`FOREIGN` word ("a cup square", "a red truck", "is there a brown circle?")."""
    out = []
    for _ in range(n):
        c, s = rng.choice(KINDS)
        roll = rng.random()
        if roll < 0.4 or roll >= 0.8:
            c = rng.choice(FOREIGN)
        if roll >= 0.4:
            s = rng.choice(FOREIGN)
        out.append(template.format(c=c, s=s))
    return out


def jitter_shapes(spec: SceneSpec, rng: random.Random, share: float) -> SceneSpec:
    """``share`` of the objects drawn off their canonical form, as a camera sees them:
    the width stretched by a factor log-uniform in [3/4, 4/3] and (not circles) turned
    by up to ±15° — the aspect range of the usual random-resized-crop augmentation and
    a small rotation. Labels keep the object's name: a tilted square is a square."""
    if share <= 0.0:
        return spec
    objects = tuple(
        replace(o, stretch=math.exp(rng.uniform(*STRETCH)),
                tilt=0.0 if o.shape == "circle" else rng.uniform(-TILT, TILT))
        if rng.random() < share else o
        for o in spec.objects
    )
    return replace(spec, objects=objects)


def _sample(
    seed: int, hard_share: float = 0.5, zoom_share: float = 0.0, shape_jitter: float = 0.0
) -> tuple[np.ndarray, np.ndarray, list[ObjectTruth], list[int]]:
    """One training frame: pixels at RENDER², label map, visible objects, their kinds.
    ``shape_jitter``: share of objects stretched and turned (:func:`jitter_shapes`).

    With probability ``zoom_share`` the frame is a close-up instead, as the adaptive
    answer's second look sees one: the scene rendered ``zoom`` times larger and cut to
    RENDER² around a visible object (its centre jittered by up to half a patch cell of
    the full frame; 1 in 5 close-ups around a random point), moved inside the frame.
    The truth boxes of a close-up are those of the full frame (only the pixels and
    labels are used for training).
    """
    rng = random.Random(seed)
    spec = random_scene(
        seed, duration=10.0, size=rng.choice(FRAME_SIZES),
        level="hard" if rng.random() < hard_share else "easy",
    )
    t = rng.uniform(0.0, 10.0)
    if shape_jitter > 0.0:  # its own stream: the frames without jitter stay the same
        spec = jitter_shapes(spec, random.Random(f"jitter/{seed}"), shape_jitter)
    kinds = [KINDS.index((o.color, o.shape)) for o in spec.objects]
    if zoom_share <= 0.0 or rng.random() >= zoom_share:
        rgb, labels, truth = render_labels(spec, t, out_size=(RENDER, RENDER))
        return rgb, labels, truth, kinds
    side = round(RENDER * rng.uniform(*ZOOM))
    rgb, labels, truth = render_labels(spec, t, out_size=(side, side))
    cell = side / (INPUT // PATCH)
    if truth and rng.random() < 0.8:
        cx, cy = rng.choice(truth).centre
        cx, cy = cx + rng.uniform(-0.5, 0.5) * cell, cy + rng.uniform(-0.5, 0.5) * cell
    else:
        cx, cy = rng.uniform(0, side), rng.uniform(0, side)
    x0 = round(min(max(0.0, cx - RENDER / 2), side - RENDER))
    y0 = round(min(max(0.0, cy - RENDER / 2), side - RENDER))
    crop = np.s_[y0:y0 + RENDER, x0:x0 + RENDER]
    return np.ascontiguousarray(rgb[crop]), np.ascontiguousarray(labels[crop]), truth, kinds


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


def reduce(rgb: np.ndarray) -> torch.Tensor:
    """(B, H, W, 3) uint8 → (B, 3, 96, 96) uint8, resized by the product adapter's code."""
    return torch.stack([squash_frame(f, (INPUT, INPUT)) for f in rgb]).contiguous()


def normalise(pixels: torch.Tensor) -> torch.Tensor:
    """uint8 model-input pixels → the model's normalised float input."""
    mean = torch.tensor(MEAN, device=pixels.device).view(1, 3, 1, 1)
    std = torch.tensor(STD, device=pixels.device).view(1, 3, 1, 1)
    return (pixels.float() / 255.0 - mean) / std


def preprocess(rgb: np.ndarray) -> torch.Tensor:
    """(B, H, W, 3) uint8 frames → normalised (B, 3, 96, 96), as the product adapter does."""
    return normalise(reduce(rgb))


def _render_chunk(
    args: tuple[list[int], float, float, float]
) -> tuple[torch.Tensor, np.ndarray, np.ndarray]:
    seeds, hard_share, zoom_share, shape_jitter = args
    rgbs, presents, covers = [], [], []
    for seed in seeds:
        rgb, labels, _, kinds = _sample(seed, hard_share, zoom_share, shape_jitter)
        present, cover = _labels(labels, kinds)
        rgbs.append(rgb)
        presents.append(present)
        covers.append(cover)
    return reduce(np.stack(rgbs)), np.stack(presents), np.stack(covers).astype(np.float16)


def render_pool(size: int, seed: int, hard_share: float, workers: int = 2,
                zoom_share: float = 0.0, shape_jitter: float = 0.0) -> Pool:
    """``size`` seeded training frames, rendered by ``workers`` processes (in order)."""
    base = seed * 10_000_000
    chunks = [([base + i for i in range(a, min(a + 256, size))], hard_share, zoom_share,
               shape_jitter) for a in range(0, size, 256)]
    if workers > 1:
        with mp.get_context("spawn").Pool(workers, torch.set_num_threads, (1,)) as procs:
            parts = procs.map(_render_chunk, chunks)
    else:
        parts = [_render_chunk(c) for c in chunks]
    return Pool(torch.cat([p[0] for p in parts]),
                torch.from_numpy(np.concatenate([p[1] for p in parts])),
                torch.from_numpy(np.concatenate([p[2] for p in parts])))


def pool_batch(pool: Pool, index: torch.Tensor, flip: torch.Tensor, light_share: float = 0.0,
               gen: torch.Generator | None = None) -> tuple[torch.Tensor, ...]:
    """Normalised pixels and labels of ``index``; frames where ``flip`` are mirrored
    left–right (with their patch labels): every shape is left–right symmetric.
    ``light_share`` of the frames are re-lit (:mod:`pipeline.models.augment`)."""
    g = INPUT // PATCH
    pixels, present, cover = pool.pixels[index], pool.present[index], pool.cover[index].float()
    if light_share > 0.0:
        pixels = photometric(pixels, light_share, gen or torch.Generator())
    pixels = torch.where(flip.view(-1, 1, 1, 1), pixels.flip(3), pixels)
    grid = cover.view(len(index), g, g, -1)
    cover = torch.where(flip.view(-1, 1, 1, 1), grid.flip(2), grid).reshape(cover.shape)
    return normalise(pixels), present, cover


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


@functools.lru_cache(maxsize=1)
def hard_negatives() -> torch.Tensor:
    """(K+1, K+1) 0/1: caption j shares exactly one of colour and shape with kind k."""
    k = len(KINDS)
    out = torch.zeros(k + 1, k + 1)
    for a, (ca, sa) in enumerate(KINDS):
        for b, (cb, sb) in enumerate(KINDS):
            out[a, b] = float((ca == cb) != (sa == sb))
    return out


def negative_weights(labels: torch.Tensor, weight: float) -> torch.Tensor | None:
    """Per-label loss weights: ``weight`` on the absent captions that are hard negatives
    of a kind present there (a white square where "a white circle" is absent), else 1."""
    if weight == 1.0:
        return None
    near = (labels @ hard_negatives().to(labels.device)).clamp(max=1.0)
    return 1.0 + (weight - 1.0) * near * (labels <= 0)


def loss_fn(
    model: Any, heads: Heads, text_tokens: torch.Tensor,
    batch: tuple[torch.Tensor, ...], recipe: Recipe,
    teacher: tuple[torch.Tensor, torch.Tensor] | None = None,
    teacher_text: torch.Tensor | None = None,
) -> torch.Tensor:
    """Global + patch sigmoid losses (see the module docstring); ``text_tokens`` may
    end with foreign captions, absent from every frame."""
    pixels, present, cover = batch
    text = F.normalize(model.encode_text(text_tokens), dim=-1)
    with torch.set_grad_enabled(not recipe.text_only):  # text-only: a frozen image tower
        g, p = embed_images(model, pixels)
    w = recipe.hard_negative_weight
    extra = text.shape[0] - present.shape[-1]  # foreign captions: absent everywhere
    lg = F.binary_cross_entropy_with_logits(
        heads.logits(g @ text.T, 0), F.pad(present, (0, extra)),
        weight=_padded(negative_weights(present, w), extra))
    lp = F.binary_cross_entropy_with_logits(
        heads.logits(p @ text.T, 1), F.pad(cover, (0, extra)),
        weight=_padded(negative_weights(cover, w), extra))
    loss = recipe.global_weight * lg + lp
    world = present.shape[-1]
    if teacher is not None and recipe.anchor > 0.0:
        loss = loss + recipe.anchor * _anchor(
            g @ text[:world].T, p @ text[:world].T, teacher, present, cover)
    if teacher_text is not None and recipe.text_anchor > 0.0:
        drift = 1.0 - (text[:world] * teacher_text).sum(dim=-1)
        loss = loss + recipe.text_anchor * drift.mean()
    return loss


def _padded(weights: torch.Tensor | None, extra: int) -> torch.Tensor | None:
    return None if weights is None or extra == 0 else F.pad(weights, (0, extra), value=1.0)


def _anchor(g_sim: torch.Tensor, p_sim: torch.Tensor, teacher: tuple[torch.Tensor, torch.Tensor],
            present: torch.Tensor, cover: torch.Tensor) -> torch.Tensor:
    """Mean squared shortfall of the present captions' cosines below the starting weights'
    (global: captions present in the frame; patches: captions covering half the cell)."""
    terms = []
    for sim, ref, mask in ((g_sim, teacher[0], present > 0.5), (p_sim, teacher[1], cover >= 0.5)):
        if mask.any():
            terms.append(F.relu(ref - sim)[mask].pow(2).mean())
    return torch.stack(terms).sum() if terms else g_sim.new_zeros(())


def _teacher_sims(teacher: Any, text: torch.Tensor, pixels: torch.Tensor
                  ) -> tuple[torch.Tensor, torch.Tensor]:
    with torch.no_grad():
        g, p = embed_images(teacher, pixels)
        return g @ text.T, p @ text.T


def lr_at(step: int, steps: int, base: float, warmup: int = WARMUP) -> float:
    """Linear warm-up over ``warmup`` steps, then cosine decay to zero at ``steps``."""
    if step < warmup:
        return base * (step + 1) / warmup
    return base * 0.5 * (1 + math.cos(math.pi * min((step - warmup) / max(steps - warmup, 1), 1.0)))


@dataclass(frozen=True)
class Recipe:
    """Everything that fixes a run (saved to training.json).

    ``pool``: frames rendered up front (seeded), drawn in shuffled epochs with random
    left–right mirroring; ``hard_share``: fraction of scenes whose distractors share the
    first object's colour or shape; ``global_weight``: weight of the global loss (it
    drives frame selection) against the patch loss (it drives the RoI);
    ``hard_negative_weight``: loss weight of an absent caption that shares the colour or
    the shape of an object present in the frame (global) or the patch (patches);
    ``init``: a saved shapes-demo folder to continue from (empty: fresh weights);
    ``light_share``: share of each batch re-lit as a camera sees it (night, tint, noise,
    blur; :mod:`pipeline.models.augment`); ``shape_jitter``: share of the pool's objects
    stretched and turned (:func:`jitter_shapes`); ``anchor``: weight of a loss that keeps
    every present caption's cosine (global and patch) at least where the ``init`` weights
    had it, so that what further training learns against look-alikes is not paid for in
    the asked thing's own score (:func:`_anchor`); ``foreign``: captions per step naming
    nothing in the world (:func:`foreign_texts`), trained as absent from every frame, so
    the model reads an everyday word it never sees as not there, as a pretrained CLIP
    does, instead of ignoring it ("a cup square" read as "a square");
    ``text_only``: the image tower frozen (its embeddings, hence frame selection and the
    RoI, stay those of ``init``); ``text_anchor``: weight of a loss on the drift of the
    world captions' text embeddings from the ``init`` weights' (1 − cosine).
    """

    steps: int = 11_000
    batch: int = 32
    lr: float = 2e-3
    seed: int = 0
    pool: int = 32_000
    hard_share: float = 0.7
    global_weight: float = 1.0
    hard_negative_weight: float = 1.0
    zoom_share: float = 0.0
    init: str = ""
    light_share: float = 0.0
    shape_jitter: float = 0.0
    anchor: float = 0.0
    foreign: int = 0
    text_only: bool = False
    text_anchor: float = 0.0


def optimizers(model: Any, heads: Heads, lr: float) -> list[torch.optim.Optimizer]:
    """AdamW for the network; sparse Adam for the text token table.

    The table (49,408 × 64, most of the parameters) gets gradients only in the rows of
    the caption tokens: a sparse update skips the untouched rows (≈ 20% faster steps).
    """
    model.token_embedding.sparse = True
    table = model.token_embedding.weight
    rest = [p for p in [*model.parameters(), *heads.parameters()]
            if p is not table and p.requires_grad]
    return [torch.optim.AdamW(rest, lr=lr, weight_decay=0.05, fused=True),
            torch.optim.SparseAdam([table], lr=lr)]


def train(out: Path, recipe: Recipe, *, device: str = "cpu", workers: int = 2,
          log_every: int = 100) -> Any:
    """Train from scratch with ``recipe`` and save to ``out`` (fp16 local-dir folder)."""
    start, cpu0, log = time.monotonic(), time.process_time(), []
    pool = render_pool(recipe.pool, recipe.seed, recipe.hard_share, workers,
                       recipe.zoom_share, recipe.shape_jitter).to(device)
    render_s = round(time.monotonic() - start, 1)
    print(json.dumps({"pool": len(pool), "render_s": render_s}), flush=True)
    torch.manual_seed(recipe.seed)
    model = load(Path(recipe.init)) if recipe.init else build_model()
    model, heads = model.to(device), Heads().to(device)
    model.train()
    tok = tokenizer()
    captions = [tok(caption_texts(t)).to(device) for t in TEMPLATES]
    teacher = teacher_text = None
    if (recipe.anchor > 0.0 or recipe.text_anchor > 0.0) and recipe.init:
        teacher = load(Path(recipe.init)).to(device)
        with torch.no_grad():
            teacher_text = [F.normalize(teacher.encode_text(c), dim=-1) for c in captions]
    if recipe.text_only:
        model.visual.requires_grad_(False)
        model.visual.eval()
    words = random.Random(f"foreign/{recipe.seed}")
    opts = optimizers(model, heads, recipe.lr)
    gen = torch.Generator().manual_seed(recipe.seed)
    order = torch.empty(0, dtype=torch.long)
    for step in range(recipe.steps):
        if len(order) < recipe.batch:
            order = torch.cat([order, torch.randperm(len(pool), generator=gen)])
        index, order = order[: recipe.batch], order[recipe.batch:]
        flip = torch.rand(recipe.batch, generator=gen) < 0.5
        template = int(torch.randint(len(TEMPLATES), (1,), generator=gen))
        for opt in opts:
            for group in opt.param_groups:
                group["lr"] = lr_at(step, recipe.steps, recipe.lr)
            opt.zero_grad(set_to_none=True)
        batch = pool_batch(pool, index.to(device), flip.to(device), recipe.light_share, gen)
        sims = (None if teacher is None or teacher_text is None or recipe.anchor <= 0.0
                else _teacher_sims(teacher, teacher_text[template], batch[0]))
        tokens = captions[template]
        if recipe.foreign > 0:
            more = foreign_texts(TEMPLATES[template], recipe.foreign, words)
            tokens = torch.cat([tokens, tok(more).to(device)])
        loss = loss_fn(model, heads, tokens, batch, recipe, sims,
                       None if teacher_text is None else teacher_text[template])
        loss.backward()  # type: ignore[no-untyped-call]
        for opt in opts:
            opt.step()
        if step % log_every == 0 or step == recipe.steps - 1:
            log.append({"step": step, "loss": round(loss.item(), 4),
                        "s": round(time.monotonic() - start, 1),
                        "cpu_s": round(time.process_time() - cpu0, 1),
                        "lr": round(lr_at(step, recipe.steps, recipe.lr), 6)})
            print(json.dumps(log[-1]), flush=True)
    model.token_embedding.sparse = False
    model = model.cpu().eval()
    save(model, out, {"recipe": asdict(recipe), "device": device, "render_s": render_s,
                      "seconds": round(time.monotonic() - start, 1),
                      "cpu_seconds": round(time.process_time() - cpu0, 1),
                      "torch": torch.__version__, "log": log})
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
    for name, value in asdict(base).items():
        if isinstance(value, bool):
            ap.add_argument(f"--{name.replace('_', '-')}", action="store_true")
        else:
            ap.add_argument(f"--{name.replace('_', '-')}", type=type(value), default=value)
    ap.add_argument("--device", default="cpu", help="cpu or cuda (for recipe sweeps)")
    ap.add_argument("--threads", type=int, default=2, help="torch threads and render workers")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    recipe = Recipe(**{name: getattr(args, name) for name in asdict(base)})
    model = train(args.out, recipe, device=args.device, workers=args.threads)
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

#!/usr/bin/env python3
"""Synthetic "family C" video generator for out-of-distribution video QA tests.

Each clip asks about one target object "a <colour> <shape>".  Output per clip:
NAME.mp4 (H.264, yuv420p) and NAME.json = {"target": ..., "events": [[on_s, off_s], ...]}
where events are the intervals during which at least half of the target's area
lies inside the frame (measured exactly from the rendered geometry, frame by frame).

Scenes: procedural backgrounds (value noise / stripes / tiles / soft blobs) seen
through a slowly panning/zooming virtual camera, 2-4 distractors plus the target,
shaded / outlined / bordered shapes that rotate slowly and move along smooth
spline paths, entering and leaving at the frame edges, slow global brightness
changes and mild sensor noise.

Usage:  python gen.py --out /tmp/famc [--sets easy,hard,long,never] [--jobs 2]
"""
import argparse
import colorsys
import json
import math
import os
import sys
from multiprocessing import Pool

import av
import numpy as np
from PIL import Image, ImageDraw, ImageFilter

COLOURS = {
    "red": ((200, 240), (10, 50), (10, 50)),
    "green": ((20, 60), (165, 205), (30, 70)),
    "blue": ((20, 60), (50, 90), (200, 240)),
    "yellow": ((220, 250), (205, 235), (10, 50)),
    "magenta": ((200, 240), (20, 60), (200, 240)),
    "cyan": ((20, 60), (200, 235), (210, 245)),
    "white": ((236, 252), (236, 252), (236, 252)),
}
SHAPES = ["circle", "square", "triangle"]
RESOLUTIONS = [(320, 240), (480, 270), (640, 360), (640, 480)]
FPS_CHOICES = [10, 15, 25]
SS = 4  # supersampling factor for sprite rasterisation

SETS = {
    # name: (seed, n_clips, clip_len_s, (min_vis, max_vis) or None, mode)
    "easy": (1001, 12, 30.0, (8.0, 12.0), "easy"),
    "hard": (2002, 12, 30.0, (8.0, 12.0), "hard"),
    "long": (3003, 6, 180.0, (100.0, 120.0), "easy"),
    "never": (4004, 2, 60.0, None, "never"),
}


# ----------------------------------------------------------------------------- geometry
def shape_vertices(shape, S, n_circle=48):
    """Unrotated outline vertices relative to the shape centre (image coords, y down)."""
    if shape == "circle":
        a = np.linspace(0, 2 * np.pi, n_circle, endpoint=False)
        return np.stack([0.5 * S * np.cos(a), 0.5 * S * np.sin(a)], 1)
    if shape == "square":
        h = 0.85 * S / 2
        return np.array([[-h, -h], [h, -h], [h, h], [-h, h]], float)
    if shape == "triangle":
        R = 0.6 * S
        a = np.radians([-90.0, 30.0, 150.0])
        return np.stack([R * np.cos(a), R * np.sin(a)], 1)
    raise ValueError(shape)


def inradius(shape, S):
    return {"circle": 0.5 * S, "square": 0.425 * S, "triangle": 0.3 * S}[shape]


def rotate_pts(v, deg):
    """Same sense as PIL Image.rotate (counter-clockwise on screen)."""
    th = math.radians(deg)
    c, s = math.cos(th), math.sin(th)
    return np.stack([v[:, 0] * c + v[:, 1] * s, -v[:, 0] * s + v[:, 1] * c], 1)


def poly_area(p):
    if len(p) < 3:
        return 0.0
    p = np.asarray(p)
    x, y = p[:, 0], p[:, 1]
    return 0.5 * abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)))


def _clip_edge(pts, inside, inter):
    out = []
    n = len(pts)
    for i in range(n):
        cur, prev = pts[i], pts[i - 1]
        ci, pi = inside(cur), inside(prev)
        if ci:
            if not pi:
                out.append(inter(prev, cur))
            out.append(cur)
        elif pi:
            out.append(inter(prev, cur))
    return out


def inside_fraction(verts, W, H):
    """Fraction of the polygon's area inside the [0,W]x[0,H] frame."""
    xmin, ymin = verts.min(0)
    xmax, ymax = verts.max(0)
    if xmin >= 0 and ymin >= 0 and xmax <= W and ymax <= H:
        return 1.0
    if xmax <= 0 or ymax <= 0 or xmin >= W or ymin >= H:
        return 0.0
    total = poly_area(verts)
    pts = [tuple(p) for p in verts]

    def ix(a, b, x0):
        t = (x0 - a[0]) / (b[0] - a[0])
        return (x0, a[1] + t * (b[1] - a[1]))

    def iy(a, b, y0):
        t = (y0 - a[1]) / (b[1] - a[1])
        return (a[0] + t * (b[0] - a[0]), y0)

    pts = _clip_edge(pts, lambda p: p[0] >= 0, lambda a, b: ix(a, b, 0.0))
    if pts:
        pts = _clip_edge(pts, lambda p: p[0] <= W, lambda a, b: ix(a, b, float(W)))
    if pts:
        pts = _clip_edge(pts, lambda p: p[1] >= 0, lambda a, b: iy(a, b, 0.0))
    if pts:
        pts = _clip_edge(pts, lambda p: p[1] <= H, lambda a, b: iy(a, b, float(H)))
    return poly_area(pts) / total if total > 0 else 0.0


def hermite(ts, ps, tq, tension=0.85):
    """Cubic Hermite (Catmull-Rom style, non-uniform knots) evaluated at tq."""
    n = len(ts)
    m = np.zeros_like(ps)
    if n > 2:
        m[1:-1] = (ps[2:] - ps[:-2]) / (ts[2:] - ts[:-2])[:, None]
    m[0] = (ps[1] - ps[0]) / (ts[1] - ts[0])
    m[-1] = (ps[-1] - ps[-2]) / (ts[-1] - ts[-2])
    m *= tension
    k = np.clip(np.searchsorted(ts, tq, side="right") - 1, 0, n - 2)
    h = (ts[k + 1] - ts[k])[:, None]
    s = ((tq - ts[k]) / h[:, 0])[:, None]
    s2, s3 = s * s, s * s * s
    return ((2 * s3 - 3 * s2 + 1) * ps[k] + (s3 - 2 * s2 + s) * h * m[k]
            + (-2 * s3 + 3 * s2) * ps[k + 1] + (s3 - s2) * h * m[k + 1])


# ----------------------------------------------------------------------------- objects
class Obj:
    def __init__(self, colour, shape, S, rng):
        self.colour, self.shape, self.S = colour, shape, S
        self.rgb = sample_rgb(colour, rng)
        self.style = rng.choice(["linear", "radial", "outline", "border", "linear", "radial"])
        self.omega = 0.0 if rng.random() < 0.15 else rng.uniform(6, 28) * rng.choice([-1, 1])
        self.a0 = rng.uniform(0, 360)
        self.segments = []  # list of (knot_times, knot_points)
        self.verts = shape_vertices(shape, S)
        self.sprite = None

    def positions(self, times):
        out = np.full((len(times), 2), np.nan)
        for ts, ps in self.segments:
            msk = (times >= ts[0]) & (times <= ts[-1])
            if msk.any():
                out[msk] = hermite(ts, ps, times[msk])
        return out

    def angles(self, times):
        return self.a0 + self.omega * times

    def visibility(self, times, W, H):
        pos, ang = self.positions(times), self.angles(times)
        vis = np.zeros(len(times))
        for i in range(len(times)):
            if not np.isnan(pos[i, 0]):
                vis[i] = inside_fraction(rotate_pts(self.verts, ang[i]) + pos[i], W, H)
        return vis


def sample_rgb(colour, rng):
    if colour == "white":
        base = rng.uniform(236, 250)
        return np.clip(base + rng.uniform(-3, 3, 3), 0, 255)
    return np.array([rng.uniform(*r) for r in COLOURS[colour]])


def make_sprite(obj, rng):
    S = obj.S
    C = int(math.ceil(1.25 * S)) + 6
    CB = C * SS
    v = obj.verts * SS + CB / 2.0
    outer = Image.new("L", (CB, CB), 0)
    d = ImageDraw.Draw(outer)
    if obj.shape == "circle":
        r = 0.5 * S * SS
        d.ellipse([CB / 2 - r, CB / 2 - r, CB / 2 + r, CB / 2 + r], fill=255)
    else:
        d.polygon([tuple(p) for p in v], fill=255)
    # inner shape (for outline / border styles)
    w = rng.uniform(0.11, 0.17) * S
    k = max(0.2, 1.0 - w / inradius(obj.shape, S))
    inner = Image.new("L", (CB, CB), 0)
    d2 = ImageDraw.Draw(inner)
    if obj.shape == "circle":
        r = 0.5 * S * SS * k
        d2.ellipse([CB / 2 - r, CB / 2 - r, CB / 2 + r, CB / 2 + r], fill=255)
    else:
        d2.polygon([tuple(p) for p in obj.verts * SS * k + CB / 2.0], fill=255)
    a_out = np.asarray(outer.resize((C, C), Image.BOX), np.float32) / 255.0
    a_in = np.asarray(inner.resize((C, C), Image.BOX), np.float32) / 255.0

    yy, xx = np.mgrid[0:C, 0:C].astype(np.float32)
    u, vv = (xx + 0.5 - C / 2) / S, (yy + 0.5 - C / 2) / S
    rgb = obj.rgb.astype(np.float32)
    lo = 0.82 if obj.colour == "white" else 0.72
    if obj.style in ("linear", "border"):
        th = rng.uniform(0, 2 * np.pi)
        f = 1.0 + rng.uniform(0.25, 0.4) * (u * np.cos(th) + vv * np.sin(th))
    elif obj.style == "radial":
        th = rng.uniform(0, 2 * np.pi)
        hx, hy = 0.22 * np.cos(th), 0.22 * np.sin(th)
        f = 1.15 - 0.55 * np.sqrt((u - hx) ** 2 + (vv - hy) ** 2)
    else:  # outline
        f = np.ones_like(u)
    f = np.clip(f, lo, 1.15)
    col = np.clip(rgb[None, None] * f[..., None], 0, 255)
    alpha = a_out
    if obj.style == "outline":
        alpha = np.clip(a_out - a_in, 0, 1)
    elif obj.style == "border":
        dark = rgb * (0.5 if obj.colour != "white" else 0.62)
        col = dark[None, None] + (col - dark[None, None]) * a_in[..., None]
    rgba = np.dstack([col, alpha[..., None] * 255.0]).round().astype(np.uint8)
    obj.sprite = Image.fromarray(rgba, "RGBA")


# ----------------------------------------------------------------------------- paths
EDGES = ["left", "right", "top", "bottom"]


def edge_point(W, H, S, rng, edge=None):
    edge = edge or rng.choice(EDGES)
    f = rng.uniform(0.15, 0.85)
    if edge == "left":
        e, n = (0.0, f * H), (-1.0, 0.0)
    elif edge == "right":
        e, n = (float(W), f * H), (1.0, 0.0)
    elif edge == "top":
        e, n = (f * W, 0.0), (0.0, -1.0)
    else:
        e, n = (f * W, float(H)), (0.0, 1.0)
    e, n = np.array(e), np.array(n)
    return e, e + n * (0.7 * S + 3)


def interior_point(W, H, S, rng):
    m = 0.4 * S + 2
    return np.array([rng.uniform(m, W - m), rng.uniform(m, H - m)])


def visit_segment(W, H, S, t_on, t_off, rng, spacing=(2.5, 5.0)):
    """Enter through an edge at t_on (centre on the edge), wander, leave at t_off."""
    e_in, o_in = edge_point(W, H, S, rng)
    e_out, o_out = edge_point(W, H, S, rng)
    speed = rng.uniform(0.12, 0.3) * W  # px/s near the edges
    dt_in = float(np.clip(np.linalg.norm(o_in - e_in) / speed, 0.4, 2.5))
    dt_out = float(np.clip(np.linalg.norm(o_out - e_out) / speed, 0.4, 2.5))
    dur = t_off - t_on
    n_int = max(1, int(round(dur / rng.uniform(*spacing))))
    # interior knot times: jittered but kept apart
    ti = t_on + dur * (0.5 * np.sort(rng.uniform(0.1, 0.9, n_int)) + 0.5 * (np.arange(n_int) + 0.5) / n_int)
    ts = np.concatenate([[t_on - dt_in, t_on], ti, [t_off, t_off + dt_out]])
    ps = np.vstack([o_in, e_in] + [interior_point(W, H, S, rng) for _ in range(n_int)] + [e_out, o_out])
    return ts, ps


def wander_segment(W, H, S, T, rng, spacing=(2.5, 6.0)):
    ts = [-3.0]
    while ts[-1] < T + 3:
        ts.append(ts[-1] + rng.uniform(*spacing))
    ts = np.array(ts)
    ps = np.vstack([interior_point(W, H, S, rng) for _ in ts])
    return ts, ps


# ----------------------------------------------------------------------------- backgrounds
def muted_palette(rng, n):
    h0 = rng.uniform()
    cols = []
    for i in range(n):
        h = (h0 + rng.uniform(-0.18, 0.18) + (0.5 if i == 2 else 0)) % 1.0
        s = rng.uniform(0.05, 0.35)
        v = rng.uniform(0.14, 0.34) if i == 0 else rng.uniform(0.38, 0.64)
        cols.append(np.array(colorsys.hsv_to_rgb(h, s, v)) * 255)
    return cols


def value_noise(BW, BH, rng, base_cells=3, octaves=4):
    acc = np.zeros((BH, BW), np.float32)
    amp, tot = 1.0, 0.0
    for o in range(octaves):
        cw = base_cells * 2 ** o + 1
        ch = max(2, int(round(cw * BH / BW)) + 1)
        g = Image.fromarray(rng.random((ch, cw)).astype(np.float32), "F")
        acc += amp * np.asarray(g.resize((BW, BH), Image.BICUBIC), np.float32)
        tot += amp
        amp *= 0.5
    acc /= tot
    acc = (acc - acc.min()) / (acc.max() - acc.min() + 1e-6)
    return acc


def make_background(BW, BH, rng):
    kind = rng.choice(["noise", "stripes", "tiles", "blobs"])
    A, B, Cc = muted_palette(rng, 3)
    yy, xx = np.mgrid[0:BH, 0:BW].astype(np.float32)
    if kind == "noise":
        n1 = value_noise(BW, BH, rng, base_cells=int(rng.integers(2, 5)))
        n2 = value_noise(BW, BH, rng, base_cells=int(rng.integers(3, 7)))
        img = A + (B - A) * n1[..., None]
        img = img + (Cc - img) * (0.5 * np.clip(2 * n2 - 1, 0, 1))[..., None]
    elif kind == "stripes":
        th = rng.uniform(0, np.pi)
        p = rng.uniform(0.05, 0.2) * BH
        s = 0.5 + 0.5 * np.sin(2 * np.pi * (xx * np.cos(th) + yy * np.sin(th)) / p)
        sharp = rng.uniform(1.0, 4.0)
        s = 0.5 + 0.5 * np.tanh(sharp * (s - 0.5) * 2) / np.tanh(sharp)
        img = A + (B - A) * s[..., None]
        img *= (0.9 + 0.2 * value_noise(BW, BH, rng, 2, 3))[..., None]
    elif kind == "tiles":
        t = int(rng.uniform(0.06, 0.2) * BH)
        nx, ny = BW // t + 2, BH // t + 2
        tile_v = rng.random((ny, nx))
        checker = ((np.arange(ny)[:, None] + np.arange(nx)[None]) % 2) * 0.5
        tv = 0.6 * tile_v + checker * rng.uniform(0.2, 0.8)
        ix, iy = (xx // t).astype(int), (yy // t).astype(int)
        f = np.clip(tv[iy, ix], 0, 1)
        img = A + (B - A) * f[..., None]
        gap = max(1, t // 12)
        mortar = ((xx % t) < gap) | ((yy % t) < gap)
        img[mortar] *= 0.6
        img = np.asarray(Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).filter(
            ImageFilter.GaussianBlur(1.0)), np.float32)
    else:  # blobs
        img = np.broadcast_to(A, (BH, BW, 3)).astype(np.float32).copy()
        for _ in range(int(rng.integers(10, 24))):
            col = [A, B, Cc][int(rng.integers(0, 3))] * rng.uniform(0.8, 1.2)
            cx, cy = rng.uniform(0, BW), rng.uniform(0, BH)
            r = rng.uniform(0.05, 0.25) * BH
            a = rng.uniform(0.3, 0.8) * np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * r * r))
            img += (col - img) * a[..., None]
    # low-frequency illumination gradient
    th = rng.uniform(0, 2 * np.pi)
    g = ((xx / BW - 0.5) * np.cos(th) + (yy / BH - 0.5) * np.sin(th))
    img *= (1.0 + rng.uniform(0.1, 0.3) * g)[..., None]
    img = np.clip(img, 0, 170)
    return Image.fromarray(img.astype(np.uint8), "RGB"), kind


# ----------------------------------------------------------------------------- scene plan
def pick_distractor(target_colour, target_shape, rng, kind="both"):
    cols = list(COLOURS)
    if kind == "both":
        c = rng.choice([x for x in cols if x != target_colour])
        s = rng.choice([x for x in SHAPES if x != target_shape])
    elif kind == "same_colour":
        c, s = target_colour, rng.choice([x for x in SHAPES if x != target_shape])
    else:  # same_shape
        c, s = rng.choice([x for x in cols if x != target_colour]), target_shape
    return str(c), str(s)


def plan_clip(spec, rng):
    W, H = RESOLUTIONS[int(rng.integers(len(RESOLUTIONS)))]
    fps = int(FPS_CHOICES[int(rng.integers(len(FPS_CHOICES)))])
    T = spec["T"]
    N = int(round(T * fps))
    times = np.arange(N) / fps
    mode = spec["mode"]
    tc, tsh = spec["target"].split()[1:]
    size = lambda: rng.uniform(0.08, 0.30) * H
    long_clip = T > 100
    vis_spacing = (3.5, 7.0) if long_clip else (2.5, 5.0)

    # --- target
    target = None
    events = []
    if mode != "never":
        lo, hi = spec["vis_range"]
        for attempt in range(500):
            obj = Obj(tc, tsh, size(), rng)
            D = rng.uniform(lo + 0.05 * (hi - lo), hi - 0.05 * (hi - lo))
            if spec["from_start"]:
                t_on = -rng.uniform(0.8, 3.0)
                t_off = D
            else:
                t_on = rng.uniform(1.0, T - D - 1.0)
                t_off = t_on + D
            obj.segments = [visit_segment(W, H, obj.S, t_on, t_off, rng, vis_spacing)]
            vis = obj.visibility(times, W, H) >= 0.5
            idx = np.flatnonzero(vis)
            if len(idx) == 0:
                continue
            runs = 1 + int(np.sum(np.diff(idx) > 1))
            on, off = idx[0] / fps, (idx[-1] + 1) / fps
            ok = runs == 1 and lo <= off - on <= hi
            ok &= bool(vis[0]) if spec["from_start"] else (not vis[0] and not vis[-1])
            if ok:
                target = obj
                events = [[round(float(on), 3), round(float(off), 3)]]
                break
        else:
            raise RuntimeError("could not plan target path")

    # --- distractors
    n_d = int(rng.integers(2, 5))
    kinds = ["both"] * n_d
    if mode == "hard":
        if n_d >= 2 and rng.random() < 0.6:
            kinds[0], kinds[1] = "same_colour", "same_shape"
        else:
            kinds[0] = str(rng.choice(["same_colour", "same_shape"]))
    distractors = []
    tpos = target.positions(times) if target is not None else None
    for kd in kinds:
        c, s = pick_distractor(tc, tsh, rng, kd)
        for attempt in range(300):
            o = Obj(c, s, size(), rng)
            if kd != "both" or rng.random() < 0.4:
                o.segments = [wander_segment(W, H, o.S, T, rng)]
                if kd != "both":  # look-alike: visible (and not hidden by the target) all clip
                    if not (o.visibility(times, W, H) >= 0.5).all():
                        continue
                    if target is not None:
                        d = np.linalg.norm(o.positions(times) - tpos, axis=1)
                        if np.nanmin(d) < 0.45 * (o.S + target.S):
                            continue
            else:
                segs, t = [], rng.uniform(-8.0, 5.0)
                while t < T:
                    dur = rng.uniform(20, 60) if long_clip else rng.uniform(5, 14)
                    segs.append(visit_segment(W, H, o.S, t, t + dur, rng))
                    t += dur + (rng.uniform(3, 15) if long_clip else rng.uniform(2, 8))
                o.segments = segs
            break
        else:
            print(f"warning: {spec['name']}: constraints not met for {c} {s} ({kd})", file=sys.stderr)
        o.role = kd
        distractors.append(o)

    objs = list(distractors)
    rng.shuffle(objs)
    if target is not None:
        objs.append(target)  # target drawn on top: never occluded
    for o in objs:
        make_sprite(o, rng)

    # --- camera, lighting, noise
    cam_mode = rng.choice(["pan", "zoom", "panzoom", "panzoom", "static"])
    return dict(W=W, H=H, fps=fps, N=N, T=T, objs=objs, events=events, cam_mode=str(cam_mode))


# ----------------------------------------------------------------------------- rendering
def render_clip(job):
    spec, out_dir = job
    rng = np.random.default_rng(spec["seed"])
    plan = plan_clip(spec, rng)
    W, H, fps, N = plan["W"], plan["H"], plan["fps"], plan["N"]
    BW, BH = int(math.ceil(W * 1.35)), int(math.ceil(H * 1.35))
    bg, bg_kind = make_background(BW, BH, rng)
    times = np.arange(N) / fps

    # camera: box centre / zoom as slow sinusoids
    cm = plan["cam_mode"]
    zA = rng.uniform(0.08, 0.22) if "zoom" in cm else 0.0
    zP, zph = rng.uniform(15, 50), rng.uniform(0, 2 * np.pi)
    z = 1.0 + zA * (0.5 - 0.5 * np.cos(2 * np.pi * times / zP + zph))
    if "pan" in cm:
        px, py = rng.uniform(0.5, 1.0), rng.uniform(0.2, 1.0)
        Px, Py = rng.uniform(20, 60), rng.uniform(25, 70)
        phx, phy = rng.uniform(0, 2 * np.pi, 2)
        sx = px * np.sin(2 * np.pi * times / Px + phx)
        sy = py * np.sin(2 * np.pi * times / Py + phy)
    else:
        sx = sy = np.zeros(N)
    bw, bh = W / z, H / z
    cx = BW / 2 + sx * (BW - bw) / 2 * 0.98
    cy = BH / 2 + sy * (BH - bh) / 2 * 0.98

    bA, bP, bph = rng.uniform(0.04, 0.14), rng.uniform(6, 45), rng.uniform(0, 2 * np.pi)
    bright = 1.0 + bA * np.sin(2 * np.pi * times / bP + bph) + rng.uniform(-0.05, 0.05)
    sigma = rng.uniform(1.5, 4.5)
    bank = [rng.normal(0, sigma, (H, W, 3)).astype(np.float32) for _ in range(8)]

    objs = plan["objs"]
    pos = [o.positions(times) for o in objs]
    ang = [o.angles(times) for o in objs]

    name = spec["name"]
    path = os.path.join(out_dir, name + ".mp4")
    cont = av.open(path, mode="w")
    st = cont.add_stream("libx264", rate=fps)
    st.width, st.height, st.pix_fmt = W, H, "yuv420p"
    st.options = {"crf": "21", "preset": "veryfast", "threads": "1"}
    for i in range(N):
        box = (cx[i] - bw[i] / 2, cy[i] - bh[i] / 2, cx[i] + bw[i] / 2, cy[i] + bh[i] / 2)
        fr = bg.resize((W, H), Image.BILINEAR, box=box)
        for o, p, a in zip(objs, pos, ang):
            if np.isnan(p[i, 0]):
                continue
            r = 0.65 * o.S
            if p[i, 0] + r < 0 or p[i, 1] + r < 0 or p[i, 0] - r > W or p[i, 1] - r > H:
                continue
            spr = o.sprite.rotate(float(a[i]), resample=Image.BICUBIC, expand=True)
            fr.paste(spr, (int(round(p[i, 0] - spr.width / 2)), int(round(p[i, 1] - spr.height / 2))), spr)
        arr = np.asarray(fr, np.float32) * bright[i] + bank[int(rng.integers(8))]
        arr = np.clip(arr, 0, 255).astype(np.uint8)
        for pkt in st.encode(av.VideoFrame.from_ndarray(arr, format="rgb24")):
            cont.mux(pkt)
    for pkt in st.encode():
        cont.mux(pkt)
    cont.close()
    with open(os.path.join(out_dir, name + ".json"), "w") as f:
        json.dump({"target": spec["target"], "events": plan["events"]}, f)
    desc = ", ".join(f"{o.colour} {o.shape}" + ("*" if o.role != "both" else "")
                     for o in objs if hasattr(o, "role"))
    return (f"{name}: {W}x{H}@{fps} {spec['T']:.0f}s bg={bg_kind} cam={cm} "
            f"target='{spec['target']}' events={plan['events']} distractors=[{desc}]")


def build_jobs(out_root, sets):
    jobs = []
    for sname in sets:
        seed, n, T, vis_range, mode = SETS[sname]
        srng = np.random.default_rng(seed)
        combos = [(c, s) for c in COLOURS for s in SHAPES]
        order = srng.permutation(len(combos))
        from_start = set(srng.choice(n, size=n // 3, replace=False).tolist()) if mode != "never" else set()
        out_dir = os.path.join(out_root, sname)
        os.makedirs(out_dir, exist_ok=True)
        for i in range(n):
            c, s = combos[order[i % len(combos)]]
            jobs.append(({
                "name": f"{sname}_{i:02d}", "seed": [seed, i], "T": T, "mode": mode,
                "vis_range": vis_range, "from_start": i in from_start,
                "target": f"a {c} {s}",
            }, out_dir))
    # longest first for better load balancing
    jobs.sort(key=lambda j: -j[0]["T"])
    return jobs


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="/tmp/famc")
    ap.add_argument("--sets", default="easy,hard,long,never")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--only", default=None, help="comma-separated clip names to (re)render")
    args = ap.parse_args()
    jobs = build_jobs(args.out, args.sets.split(","))
    if args.only:
        keep = set(args.only.split(","))
        jobs = [j for j in jobs if j[0]["name"] in keep]
    if args.jobs > 1:
        with Pool(args.jobs) as pool:
            for line in pool.imap_unordered(render_clip, jobs):
                print(line, flush=True)
    else:
        for j in jobs:
            print(render_clip(j), flush=True)


if __name__ == "__main__":
    main()

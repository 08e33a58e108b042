#!/usr/bin/env python3
"""family_e.py - "loop conveyor under a ceiling fisheye" test clips with ground truth.

An outside-author clip family for checking a video question-answering system that
answers a standing question "a <colour> <shape>" on a video.

The look: a cheap warehouse / packing-line IP camera mounted high above a two-lane loop
conveyor.  Straight world lines bend under a strong barrel (fisheye-like) distortion
with lateral chromatic aberration, vignetting and lens dust.  Painted tins (circles),
boxes (squares) and wedge signs (triangles) with gradients, highlights, side faces and
soft shadows ride the belt in and out of view (the belt stops and starts); round,
square and triangular signal lamps on the back wall switch on and off; painted signs
hang on the wall; things lie on a bench; workers walk past in the front aisle; a steel
column may stand in front of the belts.  The camera pumps its auto-exposure, drifts in
white balance, suffers rolling fluorescent flicker, a failing tube, vibration with
motion blur, sensor noise, optional MJPEG pre-compression and a low-bitrate H.264
encode, with a DVR-style timestamp burned into the corners.  Frame sizes 384x216 ..
896x504, frame rates 6..25 fps.

Ground truth is measured from the rendered geometry frame by frame: the target is
visible in a frame when it is "on" (a lamp only when lit), and at least 50 % of its
silhouette (in undistorted world pixels) falls inside the output frame, is not under
the OSD text boxes and is not covered by anything drawn after it.

Usage: python family_e.py --out DIR [--sets easy,hard,long,twice,never]
                          [--limit N] [--check] [--samples DIR]
Only numpy, Pillow and PyAV are used.  Everything is reproducible (fixed seeds,
single-threaded x264).
"""
import argparse
import io
import json
import math
import os
import sys
import time
from fractions import Fraction

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont
import av

BASE_SEED = 0xFA3E0

COLOURS = {
    'red': (214, 34, 32), 'green': (34, 172, 58), 'blue': (34, 78, 224),
    'yellow': (240, 212, 36), 'magenta': (208, 44, 200), 'cyan': (36, 204, 218),
    'white': (238, 238, 234),
}
COLOUR_NAMES = list(COLOURS)
SHAPES = ('circle', 'square', 'triangle')

SETS = {
    'easy': dict(n=12, dur=30),
    'hard': dict(n=12, dur=30),
    'long': dict(n=6, dur=180),
    'twice': dict(n=6, dur=90),
    'never': dict(n=3, dur=60),
}
SET_ORDER = ['easy', 'hard', 'long', 'twice', 'never']

SIZES = {  # (W, H) choices per set; long clips kept small for speed.  Every width is a
    # multiple of 128: with other widths libx264's assembly reads a few uninitialised
    # bytes past the input planes and the bitstream is then not bit-reproducible.
    'easy': [(384, 288), (384, 216), (512, 288), (512, 384), (640, 360), (640, 480), (768, 432), (896, 504)],
    'hard': [(384, 288), (384, 216), (512, 288), (512, 384), (640, 360), (640, 480), (768, 432), (896, 504)],
    'long': [(384, 288), (384, 216), (512, 288), (512, 384), (640, 360)],
    'twice': [(384, 288), (512, 288), (512, 384), (640, 360), (640, 480), (768, 432)],
    'never': [(384, 288), (512, 384), (640, 360), (768, 432)],
}
FPS = {
    'easy': [6, 8, 10, 12, 15, 20, 25],
    'hard': [6, 8, 10, 12, 15, 20, 25],
    'long': [6, 6, 8, 10],
    'twice': [6, 8, 10, 12, 15],
    'never': [8, 10, 12, 15],
}
ZONES = ['DOCK-B', 'PACK LINE 2', 'SORT 3', 'BAY 14', 'LOOP C', 'DESPATCH', 'CONV-07']


def log(*a):
    print(*a, file=sys.stderr, flush=True)


# ----------------------------------------------------------------------------- helpers

def lowfreq(rng, h, w, cells):
    """Smooth noise in [-0.5, 0.5] with about `cells` blobs across the wider side."""
    cx = max(2, int(cells))
    cy = max(2, int(round(cells * h / max(w, 1))))
    small = (rng.random((cy, cx)) * 255).astype(np.uint8)
    big = Image.fromarray(small).resize((w, h), Image.BICUBIC)
    return np.asarray(big, np.float32) / 255.0 - 0.5


def gblur(a, radius):
    """Gaussian blur of a float [0,1] 2-D array via Pillow."""
    img = Image.fromarray(np.clip(a * 255 + 0.5, 0, 255).astype(np.uint8))
    return np.asarray(img.filter(ImageFilter.GaussianBlur(max(0.3, radius))), np.float32) / 255.0


def shift_down(a, k):
    if k <= 0:
        return a
    out = np.zeros_like(a)
    out[k:] = a[:-k]
    return out


def shift2(a, dx, dy):
    out = np.zeros_like(a)
    h, w = a.shape
    dx, dy = int(round(dx)), int(round(dy))
    ys0, yd0 = (0, dy) if dy >= 0 else (-dy, 0)
    xs0, xd0 = (0, dx) if dx >= 0 else (-dx, 0)
    hh, ww = h - abs(dy), w - abs(dx)
    if hh > 0 and ww > 0:
        out[yd0:yd0 + hh, xd0:xd0 + ww] = a[ys0:ys0 + hh, xs0:xs0 + ww]
    return out


def window(arr, x0, y0, w, h, fill=False):
    """arr[y0:y0+h, x0:x0+w] with out-of-bounds filled."""
    out = np.full((h, w), fill, dtype=arr.dtype)
    H, W = arr.shape
    ax0, ay0 = max(0, x0), max(0, y0)
    ax1, ay1 = min(W, x0 + w), min(H, y0 + h)
    if ax0 < ax1 and ay0 < ay1:
        out[ay0 - y0:ay1 - y0, ax0 - x0:ax1 - x0] = arr[ay0:ay1, ax0:ax1]
    return out


def smooth_series(rng, n, period_frames, amp):
    """Smooth random series (cosine-interpolated knots)."""
    k = int(n / max(period_frames, 1)) + 3
    knots = rng.normal(0, 1, k)
    x = np.arange(n) / max(period_frames, 1)
    i0 = np.floor(x).astype(int)
    fr = x - i0
    w = (1 - np.cos(np.pi * fr)) / 2
    return (knots[i0] * (1 - w) + knots[i0 + 1] * w) * amp


# ----------------------------------------------------------------------------- lens

class Lens:
    """Barrel distortion plus a small camera roll: an output pixel at normalised radius
    r_d samples the world at r_u = r_d (1 + k1 r_d^2 + k2 r_d^4), turned by `roll`.
    World is 1 px = 1 output px at the centre."""

    def __init__(self, W, H, k1, k2, ca, roll=0.0, margin=16):
        self.W, self.H, self.k1, self.k2 = W, H, k1, k2
        self.cr, self.sr = math.cos(roll), math.sin(roll)
        R = 0.5 * math.hypot(W, H)
        self.R = R
        ys, xs = np.mgrid[0:H, 0:W].astype(np.float32)
        dx = (xs + 0.5 - W / 2) / R
        dy = (ys + 0.5 - H / 2) / R
        r2 = dx * dx + dy * dy
        f = (1 + k1 * r2 + k2 * r2 * r2) * R
        wx = (dx * self.cr - dy * self.sr) * f
        wy = (dx * self.sr + dy * self.cr) * f
        self.CW = int(math.ceil(2 * float(np.abs(wx).max()) * (1 + ca))) + 2 * margin
        self.CH = int(math.ceil(2 * float(np.abs(wy).max()) * (1 + ca))) + 2 * margin
        self.cx, self.cy = self.CW / 2.0, self.CH / 2.0
        self.idx = []
        for s in (1 + ca, 1.0, 1 - ca):       # R, G, B: lateral chromatic aberration
            X = np.floor(self.cx + wx * s).astype(np.int64)
            Y = np.floor(self.cy + wy * s).astype(np.int64)
            self.idx.append((Y * self.CW + X).ravel())
        self.r2 = r2
        # inverse map on the world grid (Newton), for "in frame" and output boxes
        Yw, Xw = np.mgrid[0:self.CH, 0:self.CW].astype(np.float32)
        vx = (Xw + 0.5 - self.cx) / R
        vy = (Yw + 0.5 - self.cy) / R
        ux = vx * self.cr + vy * self.sr
        uy = -vx * self.sr + vy * self.cr
        ru = np.sqrt(ux * ux + uy * uy)
        rd = ru.copy()
        for _ in range(12):
            rd2 = rd * rd
            g = rd * (1 + k1 * rd2 + k2 * rd2 * rd2) - ru
            gp = 1 + 3 * k1 * rd2 + 5 * k2 * rd2 * rd2
            rd -= g / gp
        sc = np.where(ru > 1e-9, rd / np.maximum(ru, 1e-9), 1.0)
        self.xo = (ux * sc * R + W / 2).astype(np.float32)
        self.yo = (uy * sc * R + H / 2).astype(np.float32)
        self.inframe = (self.xo >= 0) & (self.xo < W) & (self.yo >= 0) & (self.yo < H)

    def o2w(self, u, v):
        """Normalised output coords -> world coords."""
        dx = (u * self.W - self.W / 2) / self.R
        dy = (v * self.H - self.H / 2) / self.R
        r2 = dx * dx + dy * dy
        f = (1 + self.k1 * r2 + self.k2 * r2 * r2) * self.R
        return (self.cx + (dx * self.cr - dy * self.sr) * f,
                self.cy + (dx * self.sr + dy * self.cr) * f)


# ----------------------------------------------------------------------------- sprites

class Sprite:
    __slots__ = ('prem', 'inv', 'mask', 'area', 'h', 'w', 'ox', 'oy')

    def __init__(self, prem, alpha, mask, ox, oy):
        self.prem = np.ascontiguousarray(prem, dtype=np.float32)
        self.inv = np.ascontiguousarray(1.0 - np.clip(alpha, 0, 1), dtype=np.float32)
        self.mask = mask
        self.area = max(1, int(mask.sum()))
        self.h, self.w = mask.shape
        self.ox, self.oy = ox, oy


def poly_pts(shape, d, rot, cx, cy, aspect=1.0):
    if shape == 'square':
        a = 0.86 * d / 2
        base = [(-a, -a), (a, -a), (a, a), (-a, a)]
    elif shape == 'rect':
        a = d / 2
        b = d / 2 / aspect
        base = [(-a, -b), (a, -b), (a, b), (-a, b)]
    else:  # triangle, pointing up, bbox centred
        s = 1.2 * d
        Rt = s / math.sqrt(3)
        base = [(Rt * math.cos(math.radians(a)), Rt * math.sin(math.radians(a)) + Rt / 4)
                for a in (-90, 30, 150)]
    c, sn = math.cos(rot), math.sin(rot)
    return [(cx + x * c - y * sn, cy + x * sn + y * c) for x, y in base]


def shape_mask(shape, d, rot, n, cx, cy, aspect=1.0, ss=3):
    img = Image.new('L', (n * ss, n * ss), 0)
    dr = ImageDraw.Draw(img)
    if shape == 'circle':
        r = d / 2 * ss
        dr.ellipse([cx * ss - r, cy * ss - r, cx * ss + r, cy * ss + r], fill=255)
    else:
        dr.polygon([(x * ss, y * ss) for x, y in poly_pts(shape, d, rot, cx, cy, aspect)], fill=255)
    return np.asarray(img.reduce(ss), np.float32) / 255.0


def hblur_sprite(prem, alpha, L):
    if L <= 1:
        return prem, alpha
    p = np.zeros_like(prem)
    a = np.zeros_like(alpha)
    for k in range(L):
        sh = k - L // 2
        p += np.roll(prem, sh, axis=-1)
        a += np.roll(alpha, sh, axis=-1)
    return p / L, a / L


def make_obj(shape, rgb, d, rot, kind, blur=0, aspect=1.0, rng=None):
    """kind: belt | bench | sign | lamp_on | lamp_off | carton"""
    rgb = np.asarray(rgb, np.float32)
    th = {'belt': 0.09, 'bench': 0.08, 'carton': 0.1, 'sign': 0.03,
          'lamp_on': 0.03, 'lamp_off': 0.03}[kind] * d
    pad = int(0.32 * d) + 4 + blur
    n = int(math.ceil(1.3 * d + th)) + 2 * pad
    cx = n / 2.0
    cy = n / 2.0 - th / 2
    top = shape_mask(shape, d, rot, n, cx, cy, aspect)
    body = top.copy()
    for k in range(1, int(round(th)) + 1):
        body = np.maximum(body, shift_down(top, k))
    yy, xx = np.mgrid[0:n, 0:n].astype(np.float32)
    rr = np.sqrt((xx - cx) ** 2 + (yy - cy) ** 2)
    lin = 1.12 - 0.2 * ((xx - cx) + (yy - cy)) / d
    inner = gblur(top, max(0.8, 0.05 * d))
    bevel = np.clip(inner * 2 - 1, 0, 1) ** 0.6
    hl = np.exp(-(((xx - (cx - 0.18 * d)) ** 2 + (yy - (cy - 0.2 * d)) ** 2) / (2 * (0.15 * d) ** 2)))
    if kind == 'lamp_on':
        col = rgb[:, None, None] * (0.92 + 0.1 * (lin - 1))[None]
        core = np.exp(-(rr ** 2) / (2 * (0.22 * d) ** 2))
        col = col + (255 - col) * (0.32 * core)[None]
        col = col * (0.86 + 0.14 * bevel)[None]
    elif kind == 'lamp_off':
        grey = np.array([60, 62, 65], np.float32)
        base = grey                       # unlit glass: no trace of its colour
        col = base[:, None, None] * (lin * (0.75 + 0.25 * bevel))[None]
        spec = np.exp(-(((xx - (cx - 0.2 * d)) ** 2 + (yy - (cy - 0.22 * d)) ** 2) / (2 * (0.07 * d) ** 2)))
        col = col + (220 - col) * (0.55 * spec)[None]
    else:
        shade = lin * (0.68 + 0.32 * bevel)
        if kind == 'sign':
            shade = lin * 0.6 + 0.4 + 0.0 * bevel
            shade = shade * (0.72 + 0.28 * bevel)
        col = rgb[:, None, None] * shade[None]
        col = col + (255 - col) * ((0.3 if kind != 'carton' else 0.12) * hl)[None]
        if shape == 'circle' and kind in ('belt', 'bench'):      # tin lid groove
            ring = np.exp(-((rr - 0.38 * d) ** 2) / (2 * (0.022 * d) ** 2))
            col = col * (1 - 0.22 * ring)[None]
        if kind == 'carton':                                       # tape along the long axis
            c, sn = math.cos(rot), math.sin(rot)
            along = -(xx - cx) * sn + (yy - cy) * c
            tape = (np.abs(along) < 0.07 * d).astype(np.float32)
            col = col * (1 - 0.25 * tape)[None] + np.array([200, 180, 140], np.float32)[:, None, None] * (0.25 * tape)[None]
            if rng is not None:
                for _ in range(3):
                    px = cx + rng.uniform(-0.3, 0.3) * d
                    py = cy + rng.uniform(-0.25, 0.25) * d / aspect
                    mark = (np.abs(xx - px) < 0.12 * d) & (np.abs(yy - py) < 0.02 * d)
                    col = col * (1 - 0.45 * mark)[None]
        if kind == 'sign':                                         # two screws
            for sx in (-0.28, 0.28):
                sy = 0.22 if shape == 'triangle' else -0.28
                if shape == 'circle':
                    sy = 0.0
                scr = np.exp(-(((xx - (cx + sx * d)) ** 2 + (yy - (cy + sy * d)) ** 2)) / (2 * (0.018 * d) ** 2))
                col = col * (1 - 0.6 * scr)[None] + 120 * (0.6 * scr)[None]
    side = rgb * 0.5 if kind not in ('lamp_on', 'lamp_off') else np.array([45, 46, 48], np.float32)
    wt = np.where(body > 1e-3, np.clip(top / np.maximum(body, 1e-3), 0, 1), 1.0)
    col = col * wt[None] + side[:, None, None] * (1 - wt)[None]
    col = np.clip(col, 0, 255)
    prem = col * body[None]
    alpha = body.copy()
    if kind == 'lamp_on':
        glow = gblur(top, 0.16 * d) * 0.6
        g = glow * (1 - body)
        prem = prem + rgb[:, None, None] * 0.95 * g[None]
        alpha = alpha + g
    elif kind in ('belt', 'bench', 'carton', 'sign'):
        so = (0.03, 0.05) if kind == 'sign' else (0.06, 0.1)
        sh = gblur(shift2(body, so[0] * d, so[1] * d), 0.05 * d) * (0.5 if kind != 'sign' else 0.4)
        alpha = alpha + (1 - alpha) * sh
    mask = body > 0.5
    if blur > 1:
        prem, alpha = hblur_sprite(prem, alpha, blur)
    return Sprite(prem, alpha, mask, cx, cy)


def make_worker(H, rng, phase, flip):
    S = int(0.3 * H)
    w = int(0.62 * S) + 8
    h = S + 8
    ss = 3
    img = Image.new('RGBA', (w * ss, h * ss), (0, 0, 0, 0))
    dr = ImageDraw.Draw(img)
    cloth = tuple(int(c) for c in rng.choice([(40, 46, 60), (52, 52, 56), (36, 40, 38), (58, 50, 46)]))
    skin = tuple(int(c) for c in rng.choice([(196, 156, 126), (150, 108, 80), (110, 78, 58), (214, 178, 150)]))
    hair = (34, 30, 28)
    cxs = w * ss / 2
    U = S * ss

    def E(x0, y0, x1, y1, fill):
        dr.ellipse([cxs + x0 * U, y0 * U + 4 * ss, cxs + x1 * U, y1 * U + 4 * ss], fill=fill)

    def Rr(x0, y0, x1, y1, fill, r=0.05):
        dr.rounded_rectangle([cxs + x0 * U, y0 * U + 4 * ss, cxs + x1 * U, y1 * U + 4 * ss], radius=r * U, fill=fill)

    sw = 0.06 * (1 if phase == 0 else -1)
    legc = tuple(max(0, c - 12) for c in cloth)
    Rr(-0.13, 0.55 + sw, -0.02, 0.97 + sw, legc)
    Rr(0.02, 0.55 - sw, 0.13, 0.97 - sw, legc)
    E(-0.29, 0.26 - sw, -0.17, 0.6 - sw, cloth)          # arms
    E(0.17, 0.26 + sw, 0.29, 0.6 + sw, cloth)
    Rr(-0.21, 0.22, 0.21, 0.63, cloth, 0.08)               # torso
    Rr(-0.21, 0.40, 0.21, 0.43, (165, 170, 165), 0.0)      # reflective stripes
    Rr(-0.21, 0.49, 0.21, 0.52, (165, 170, 165), 0.0)
    E(-0.09, 0.03, 0.09, 0.23, skin)                       # head
    dr.pieslice([cxs - 0.095 * U, 0.025 * U + 4 * ss, cxs + 0.095 * U, 0.235 * U + 4 * ss], 180, 360, fill=hair)
    if flip:
        img = img.transpose(Image.FLIP_LEFT_RIGHT)
    a = np.asarray(img.reduce(ss), np.float32) / 255.0
    rgb = a[..., :3] * 255
    al = a[..., 3]
    sh = gblur(shift2(al, 0.08 * S, 0.05 * S), 0.04 * S) * 0.45
    alpha = al + (1 - al) * sh
    prem = (rgb * al[..., None]).transpose(2, 0, 1)
    return Sprite(prem, alpha, al > 0.5, w / 2.0, h / 2.0)


def make_post(CH, wp):
    w = wp + 2
    x = (np.arange(w, dtype=np.float32) - (w - 1) / 2) / (wp / 2)
    prof = np.clip(1 - np.abs(x), 0, 1)
    a = np.clip((1 - np.abs(x)) * wp / 2 + 0.5, 0, 1)
    shade = 0.55 + 0.55 * np.sqrt(prof) + 0.25 * np.exp(-((x + 0.45) ** 2) / 0.02)
    steel = np.array([84, 92, 106], np.float32)
    col = steel[:, None] * shade[None, :]
    prem = np.repeat((col * a[None, :])[:, None, :], CH, axis=1)
    alpha = np.repeat(a[None, :], CH, axis=0)
    return Sprite(prem, alpha, alpha > 0.5, w / 2.0, CH / 2.0)


def blit(world, spr, x0, y0):
    _, CH, CW = world.shape
    ax0, ay0 = max(0, x0), max(0, y0)
    ax1, ay1 = min(CW, x0 + spr.w), min(CH, y0 + spr.h)
    if ax0 >= ax1 or ay0 >= ay1:
        return
    sx0, sy0 = ax0 - x0, ay0 - y0
    sx1, sy1 = sx0 + (ax1 - ax0), sy0 + (ay1 - ay0)
    reg = world[:, ay0:ay1, ax0:ax1].astype(np.float32)
    reg *= spr.inv[sy0:sy1, sx0:sx1]
    reg += spr.prem[:, sy0:sy1, sx0:sx1]
    reg += 0.5
    world[:, ay0:ay1, ax0:ax1] = reg


class Draw:
    __slots__ = ('x0', 'y0', 'spr', 'z', 'target', 'name')

    def __init__(self, spr, cx, cy, z, target=False, name=''):
        self.spr = spr
        self.x0 = int(round(cx - spr.ox))
        self.y0 = int(round(cy - spr.oy))
        self.z = z
        self.target = target
        self.name = name


# ----------------------------------------------------------------------------- belt

class Belt:
    def __init__(self, v):
        self.v = v
        self.blocks = []  # (duration, speed)

    def run(self, dur):
        if dur > 1e-6:
            self.blocks.append((dur, self.v))

    def stop(self, dur):
        if dur > 1e-6:
            self.blocks.append((dur, 0.0))

    def length(self):
        return sum(b[0] for b in self.blocks)

    def fill(self, dur, rng, stop_prob=0.5):
        """dur seconds of running with maybe one stop in the middle."""
        if dur > 9 and rng.random() < stop_prob:
            st = rng.uniform(1.5, min(7.0, dur - 5))
            a = rng.uniform(1.5, dur - st - 1.5)
            self.run(a)
            self.stop(st)
            self.run(dur - st - a)
        else:
            self.run(dur)

    def s_at(self, t):
        s, t0 = 0.0, 0.0
        for dur, v in self.blocks:
            if t <= t0:
                break
            s += v * min(max(t - t0, 0), dur)
            t0 += dur
        if t > t0:
            s += self.v * (t - t0)
        return s

    def arrays(self, n, fps):
        t = np.arange(n) / fps
        s = np.zeros(n)
        vel = np.full(n, self.v)
        t0 = 0.0
        for dur, v in self.blocks:
            s += v * np.clip(t - t0, 0, dur)
            vel[(t >= t0) & (t < t0 + dur)] = v
            t0 += dur
        s += self.v * np.clip(t - t0, 0, None)
        return s, vel


# ----------------------------------------------------------------------------- scene

class PlanError(Exception):
    pass


class Scene:
    def __init__(self, set_name, idx, attempt):
        self.set_name, self.idx = set_name, idx
        seed = BASE_SEED + SET_ORDER.index(set_name) * 1000 + idx + attempt * 100003
        self.rng = rng = np.random.default_rng(seed)
        trng = np.random.default_rng(BASE_SEED + SET_ORDER.index(set_name) * 7919)
        combos = [(c, s) for c in COLOUR_NAMES for s in SHAPES]
        order = trng.permutation(len(combos))
        self.tcol, self.tshape = combos[order[idx % len(combos)]]
        self.target_text = 'a %s %s' % (self.tcol, self.tshape)
        self.dur = SETS[set_name]['dur']
        W, H = SIZES[set_name][rng.integers(len(SIZES[set_name]))]
        fps = int(rng.choice(FPS[set_name]))
        if W * H > 640 * 480 and fps > 12:
            fps = int(rng.choice([8, 10, 12]))
        self.W, self.H, self.fps = W, H, fps
        self.N = int(round(self.dur * fps))
        n_mech = {'easy': (idx % 4 == 3), 'hard': (idx % 4 == 1), 'long': idx in (1, 4),
                  'twice': idx in (2, 5), 'never': False}[set_name]
        self.mech = 'lamp' if n_mech else 'belt'
        if set_name == 'never':
            self.mech = 'none'
        self.from_first = {'easy': idx % 3 == 0, 'hard': idx % 3 == 0, 'long': idx % 2 == 0,
                           'twice': False, 'never': False}[set_name]
        self.lens = Lens(W, H, rng.uniform(0.16, 0.36), rng.uniform(0.0, 0.08), rng.uniform(0.0015, 0.005),
                         math.radians(rng.uniform(-4.5, 4.5)))
        self._setup_osd()
        self._layout()
        self._plan()
        self._effects()

    # ---------------------------------------------------------------- OSD
    def _setup_osd(self):
        rng = self.rng
        H = self.H
        self.osd_scale = 1 if H < 400 else 2
        self.font = ImageFont.load_default(size=max(9, int(round(H / self.osd_scale / 24))))
        self.cam = int(rng.integers(1, 32))
        self.zone = ZONES[rng.integers(len(ZONES))]
        self.t_base = int(rng.integers(0, 86400 * 300))
        self.osd_cache = {}
        self.osd_wmin = max(int(self.font.getbbox('2025-%s%s-%s%s %s%s:%s%s:%s%s' % ((str(k),) * 10))[2]) for k in range(10)) + 6
        a = self._osd_img(0)
        b = self._osd_br()
        m = 3
        self.osd_tl = (m, m, m + a.shape[1], m + a.shape[0])
        self.osd_br_img = b
        self.osd_br_rect = (self.W - m - b.shape[1], self.H - m - b.shape[0], self.W - m, self.H - m)
        L = self.lens
        cover = np.zeros_like(L.inframe)
        for (x0, y0, x1, y1) in (self.osd_tl, self.osd_br_rect):
            cover |= (L.xo >= x0) & (L.xo < x1) & (L.yo >= y0) & (L.yo < y1)
        self.vismask = L.inframe & ~cover

    def _text_rgba(self, lines):
        f = self.font
        w = max([int(f.getbbox(s)[2]) + 6 for s in lines] + [getattr(self, 'osd_wmin', 0)])
        lh = int(f.getbbox('0Ag')[3]) + 3
        img = Image.new('RGBA', (w, lh * len(lines) + 4), (0, 0, 0, 70))
        d = ImageDraw.Draw(img)
        for k, s in enumerate(lines):
            d.text((3, 2 + k * lh), s, font=f, fill=(236, 236, 230, 255), stroke_width=1, stroke_fill=(0, 0, 0, 255))
        if self.osd_scale > 1:
            img = img.resize((img.width * self.osd_scale, img.height * self.osd_scale), Image.NEAREST)
        return np.asarray(img, np.float32)

    def _osd_img(self, sec):
        if sec not in self.osd_cache:
            T = self.t_base + sec
            days = T // 86400
            mo, dd = 1 + (days // 28) % 12, 1 + days % 28
            hh, mm, ss = (T // 3600) % 24, (T // 60) % 60, T % 60
            self.osd_cache = {sec: self._text_rgba(['2025-%02d-%02d %02d:%02d:%02d' % (mo, dd, hh, mm, ss),
                                                    'CAM%02d %s' % (self.cam, self.zone)])}
        return self.osd_cache[sec]

    def _osd_br(self):
        return self._text_rgba(['%dfps  %dx%d' % (self.fps, self.W, self.H)])

    @staticmethod
    def _paste_rgba(hwc, img, x0, y0):
        h, w = img.shape[:2]
        a = img[..., 3:4] / 255.0
        reg = hwc[y0:y0 + h, x0:x0 + w].astype(np.float32)
        hwc[y0:y0 + h, x0:x0 + w] = (reg * (1 - a) + img[..., :3] * a + 0.5).astype(np.uint8)

    # ---------------------------------------------------------------- layout
    def _layout(self):
        rng, L, H = self.rng, self.lens, self.H
        self.v_wall = rng.uniform(0.2, 0.225)
        self.y_wall = L.o2w(0.5, self.v_wall)[1]
        self.d_lo, self.d_hi = 0.125 * H, 0.17 * H
        self.bw = int(self.d_hi * 1.32)
        vt = rng.uniform(0.375, 0.4)
        self.yt = L.o2w(0.5, vt)[1]
        self.yb = self.yt + self.bw + max(6, int(0.035 * H))
        self.lane_scale = (0.92, 1.0)           # top lane is further away
        self.ext = int(0.9 * self.d_hi)
        self.Llane = L.CW + 2 * self.ext
        self.wall_slots = [L.o2w(u, rng.uniform(0.105, 0.125)) for u in np.linspace(0.46, 0.9, 4)]
        self.bench_slots = [L.o2w(u, 0.885) for u in (0.15, 0.28)]
        self.walk_y = L.o2w(0.5, 0.935)[1]
        self.post_x = None
        if rng.random() < 0.5:
            self.post_x = L.o2w(rng.choice([rng.uniform(0.1, 0.2), rng.uniform(0.8, 0.9)]), 0.5)[0]
        self.housings = []

    # ---------------------------------------------------------------- objects
    def _belt_obj(self, colour, shape, target=False, carton=False):
        rng = self.rng
        d = rng.uniform(self.d_lo, self.d_hi)
        rot = math.radians(rng.uniform(-12, 12))
        sprs = []
        aspect = rng.uniform(1.3, 1.8)
        kraft = np.array([162, 124, 80]) * rng.uniform(0.85, 1.1)
        blur = max(0, int(round(self.v * self.exposure)))
        for sc in self.lane_scale:
            dd = d * sc
            if carton:
                st = make_obj('rect', kraft, dd, rot, 'carton', aspect=aspect, rng=rng)
                mv = make_obj('rect', kraft, dd, rot, 'carton', blur=blur, aspect=aspect, rng=rng)
            else:
                rgb = np.array(COLOURS[colour]) * (1 + rng.uniform(-0.05, 0.05, 3))
                st = make_obj(shape, rgb, dd, rot, 'belt')
                mv = make_obj(shape, rgb, dd, rot, 'belt', blur=blur)
            sprs.append((st, mv))
        return dict(sprs=sprs, d=d, dy=rng.uniform(-0.08, 0.08) * self.bw, target=target, p0=None,
                    name='carton' if carton else '%s %s' % (colour, shape))

    def _belt_pos(self, ob, p):
        """world centre and lane for a loop coordinate, or None if hidden."""
        p = p % self.Lloop
        if p < self.Llane:
            return 0, -self.ext + p, self.yt + ob['dy']
        q = p - self.Llane - self.Gr
        if 0 <= q < self.Llane:
            return 1, self.lens.CW + self.ext - q, self.yb + ob['dy']
        return None

    def _frac(self, draws, shift=(0, 0)):
        ti = None
        for k, d in enumerate(draws):
            if d.target:
                ti = k
        if ti is None:
            return 0.0
        t = draws[ti]
        spr = t.spr
        vis = window(self.vismask, t.x0 - shift[0], t.y0 - shift[1], spr.w, spr.h) & spr.mask
        for d in draws[ti + 1:]:
            ox0, oy0 = max(t.x0, d.x0), max(t.y0, d.y0)
            ox1, oy1 = min(t.x0 + spr.w, d.x0 + d.spr.w), min(t.y0 + spr.h, d.y0 + d.spr.h)
            if ox0 < ox1 and oy0 < oy1:
                vis[oy0 - t.y0:oy1 - t.y0, ox0 - t.x0:ox1 - t.x0] &= \
                    ~d.spr.mask[oy0 - d.y0:oy1 - d.y0, ox0 - d.x0:ox1 - d.x0]
        return float(vis.sum()) / spr.area

    def _sweep(self, ob, lane):
        """loop-coordinate range (enter, exit) in which the object is >= 50 % in view."""
        spr = ob['sprs'][lane][0]
        fr = []
        ps = np.arange(0, self.Llane, 2.0)
        for p in ps:
            if lane == 0:
                x, y = -self.ext + p, self.yt + ob['dy']
            else:
                x, y = self.lens.CW + self.ext - p, self.yb + ob['dy']
            fr.append(self._frac([Draw(spr, x, y, 2, True)]))
        fr = np.array(fr)
        on = np.nonzero(fr >= 0.5)[0]
        if len(on) == 0:
            raise PlanError('lane never visible')
        return float(ps[on[0]]), float(ps[on[-1]] + 2.0)

    def _pick_distractor(self, kind):
        rng = self.rng
        tc, ts = self.tcol, self.tshape
        if kind == 'diff':
            cols = [c for c in COLOUR_NAMES if c != tc]
            shs = [s for s in SHAPES if s != ts]
            return cols[rng.integers(len(cols))], shs[rng.integers(len(shs))]
        if rng.random() < 0.5:   # same colour, other shape
            shs = [s for s in SHAPES if s != ts]
            return tc, shs[rng.integers(len(shs))]
        cols = [c for c in COLOUR_NAMES if c != tc]
        return cols[rng.integers(len(cols))], ts

    def _free_slot(self):
        free = [k for k in range(len(self.wall_slots)) if k not in self.used_slots]
        if not free:
            return None
        k = free[self.rng.integers(len(free))]
        self.used_slots.add(k)
        return k

    def _add_lamp(self, colour, shape, slot, sched, target=False):
        rng = self.rng
        d = rng.uniform(0.105, 0.135) * self.H
        rot = math.radians(rng.uniform(-4, 4))
        rgb = np.array(COLOURS[colour])
        on = make_obj(shape, rgb, d, rot, 'lamp_on')
        off = make_obj(shape, rgb, d, rot, 'lamp_off')
        x, y = self.wall_slots[slot]
        self.housings.append((x, y, d))
        self.lamps.append(dict(on=Draw(on, x, y, 1, target, '%s %s lamp' % (colour, shape)),
                               off=Draw(off, x, y, 1, False, 'unlit lamp'), sched=sched, target=target))

    def _add_static(self, colour, shape, where):
        rng = self.rng
        rgb = np.array(COLOURS[colour]) * (1 + rng.uniform(-0.05, 0.05, 3))
        if where == 'sign':
            k = self._free_slot()
            if k is None:
                where = 'bench'
            else:
                d = rng.uniform(0.11, 0.14) * self.H
                spr = make_obj(shape, rgb, d, math.radians(rng.uniform(-5, 5)), 'sign')
                x, y = self.wall_slots[k]
                self.statics.append(Draw(spr, x, y, 1, False, '%s %s sign' % (colour, shape)))
                return True
        free = [k for k in range(len(self.bench_slots)) if k not in self.used_bench]
        if not free:
            return False
        k = free[rng.integers(len(free))]
        self.used_bench.add(k)
        d = rng.uniform(0.12, 0.15) * self.H
        spr = make_obj(shape, rgb, d, math.radians(rng.uniform(-15, 15)), 'bench')
        x, y = self.bench_slots[k]
        self.statics.append(Draw(spr, x, y, 1, False, '%s %s on bench' % (colour, shape)))
        return True

    def _place_on_belt(self, ob, S, near=None):
        rng = self.rng
        for _ in range(60):
            if near is not None:
                sp = (near['d'] + ob['d']) / 2 * rng.uniform(1.35, 2.0)
                p0 = near['p0'] + (sp if rng.random() < 0.5 else -sp)
            else:
                lane = rng.random() < 0.35 and self.Gr < 1e6
                lane = lane or (rng.random() < 0.3)
                lo = -S + 0.1 * self.Llane
                hi = 0.9 * self.Llane
                p0 = rng.uniform(lo, hi)
                if lane:
                    p0 += self.Llane + self.Gr
            ok = True
            for o in self.belt_objs:
                dist = abs(p0 - o['p0']) % self.Lloop
                dist = min(dist, self.Lloop - dist)
                need = (o['d'] * (1.9 if o['name'] == 'carton' else 1.0) +
                        ob['d'] * (1.9 if ob['name'] == 'carton' else 1.0)) / 2 * 1.3 + 0.05 * self.H
                if dist < need:
                    ok = False
                    break
            if ok:
                ob['p0'] = p0
                self.belt_objs.append(ob)
                return True
        return False

    # ---------------------------------------------------------------- plan
    def _plan(self):
        rng = self.rng
        W, H, dur = self.W, self.H, self.dur
        self.exposure = rng.uniform(1 / 60, 1 / 20)
        self.v = rng.uniform(0.09, 0.2) * W          # belt speed (world px / s)
        self.Gr = 1e7
        self.Lloop = 2 * self.Llane + 2e7
        self.lamps, self.statics, self.belt_objs = [], [], []
        self.used_slots, self.used_bench = set(), set()
        belt = Belt(self.v)
        sn = self.set_name
        self.planned = []
        tgt = None
        if self.mech == 'belt':
            tgt = self._belt_obj(self.tcol, self.tshape, target=True)
        if sn in ('easy', 'hard', 'long'):
            D = rng.uniform(7.0, 11.0) if sn != 'long' else rng.uniform(96, 144)
            a = 0.0 if self.from_first else rng.uniform(2.0, dur - D - 2.0)
            self.planned = [(a, a + D)]
            if self.mech == 'lamp':
                self._add_lamp(self.tcol, self.tshape, self._free_slot(), [(a, a + D)], target=True)
                belt.fill(dur, rng, 0.6)
            else:
                p_en, p_ex = self._sweep(tgt, 0)
                Lvis = p_ex - p_en
                if a == 0:
                    f = rng.uniform(0.15, 0.6)
                    Ltr, p_start = (1 - f) * Lvis, p_en + f * Lvis
                else:
                    Ltr, p_start = Lvis, p_en
                T = Ltr / self.v
                if T > D:
                    self.v = Ltr / D
                    belt.v = self.v
                    T = D
                stop = D - T
                if stop < 0.8:
                    self.v = Ltr / D
                    belt.v = self.v
                    T, stop = D, 0.0
                if a > 0:
                    belt.fill(a, rng, 0.5)
                g = rng.uniform(0.25, 0.75)
                if a == 0 and rng.random() < 0.5:
                    belt.stop(stop)
                    belt.run(T)
                else:
                    belt.run(T * g)
                    belt.stop(stop)
                    belt.run(T * (1 - g))
                rest = dur - belt.length()
                belt.fill(rest, rng, 0.5)
                tgt['p0'] = p_start - belt.s_at(a)
        elif sn == 'twice':
            if self.mech == 'lamp':
                D1, D2 = rng.uniform(11, 23), rng.uniform(11, 23)
                G = rng.uniform(6, 30)
                free = dur - (D1 + D2 + G) - 4
                if free < 0:
                    raise PlanError('twice lamp too long')
                a1 = rng.uniform(2, 2 + free)
                a2 = a1 + D1 + G
                self.planned = [(a1, a1 + D1), (a2, a2 + D2)]
                self._add_lamp(self.tcol, self.tshape, self._free_slot(), self.planned, target=True)
                belt.fill(dur, rng, 0.6)
            else:
                p_en, p_ex = self._sweep(tgt, 0)
                q_en, q_ex = self._sweep(tgt, 1)
                Lt, Lb = p_ex - p_en, q_ex - q_en
                self.v = Lt / rng.uniform(10.8, 15.0)
                belt.v = self.v
                T1, T2 = Lt / self.v, Lb / self.v
                if not (10.5 <= T2 <= 22):
                    raise PlanError('twice bottom lane traverse %.1f' % T2)
                st1 = rng.uniform(2, min(8, 24 - T1)) if rng.random() < 0.5 else 0.0
                st2 = rng.uniform(2, min(8, 24 - T2)) if rng.random() < 0.5 else 0.0
                G = rng.uniform(6, 26)
                hidden = self.v * G - (self.Llane - p_ex) - q_en
                if hidden < 0:
                    G = ((self.Llane - p_ex) + q_en) / self.v + rng.uniform(0.5, 4)
                    hidden = self.v * G - (self.Llane - p_ex) - q_en
                D1, D2 = T1 + st1, T2 + st2
                free = dur - (D1 + G + D2) - 3
                if free < 0:
                    raise PlanError('twice belt too long')
                a1 = rng.uniform(2, 2 + free)
                self.Gr = hidden
                self.Lloop = 2 * self.Llane + self.Gr + 1e7
                belt.fill(a1, rng, 0.5)
                g = rng.uniform(0.3, 0.7)
                belt.run(T1 * g)
                belt.stop(st1)
                belt.run(T1 * (1 - g))
                belt.run(G)
                belt.run(T2 * g)
                belt.stop(st2)
                belt.run(T2 * (1 - g))
                belt.fill(dur - belt.length(), rng, 0.5)
                tgt['p0'] = p_en - belt.s_at(a1)
                a2 = a1 + D1 + G
                self.planned = [(a1, a1 + D1), (a2, a2 + D2)]
        else:  # never
            belt.fill(dur, rng, 0.7)
        self.belt = belt
        self.s_arr, self.v_arr = belt.arrays(self.N, self.fps)
        S = float(self.s_arr[-1]) + 1.0
        if tgt is not None:
            self.belt_objs.append(tgt)
        # distractors ---------------------------------------------------------
        if sn == 'easy':
            nd, kinds = int(rng.integers(1, 4)), 'diff'
        elif sn == 'hard':
            nd, kinds = int(rng.integers(2, 5)), 'alike'
        elif sn == 'never':
            nd, kinds = int(rng.integers(3, 6)), 'mixed'
        else:
            nd, kinds = int(rng.integers(2, 5)), 'mixed'
        self.distractors = []
        for k in range(nd):
            kind = kinds
            if kinds == 'mixed':
                kind = 'alike' if rng.random() < 0.5 else 'diff'
            col, shp = self._pick_distractor(kind)
            if sn == 'hard' and k == 0:
                where = ['sign', 'lamp', 'bench'][rng.integers(3)]   # look-alike in view all along
            elif sn == 'hard' and k == 1 and tgt is not None:
                where = 'near'
            else:
                r = rng.random()
                where = 'belt' if r < 0.6 else ('sign' if r < 0.75 else ('lamp' if r < 0.88 else 'bench'))
            placed = False
            if where in ('belt', 'near'):
                ob = self._belt_obj(col, shp)
                placed = self._place_on_belt(ob, S, near=tgt if where == 'near' else None)
                if not placed:
                    placed = self._place_on_belt(ob, S)
            elif where == 'lamp':
                k2 = self._free_slot()
                if k2 is not None:
                    if sn == 'hard' and k == 0:
                        sched = [(-1, 1e9)]
                    elif rng.random() < 0.5:
                        sched = [(-1, 1e9)]
                    else:
                        sched = ('blink', rng.uniform(0.8, 2.0), rng.uniform(0, 2))
                    self._add_lamp(col, shp, k2, sched)
                    placed = True
            if not placed and where in ('sign', 'bench', 'lamp'):
                placed = self._add_static(col, shp, where if where != 'lamp' else 'sign')
            if placed:
                self.distractors.append('%s %s (%s)' % (col, shp, where))
        if sn == 'hard' and not self.distractors:
            raise PlanError('no look-alike')
        # scenery: unlit lamps, cartons
        if rng.random() < 0.45 or (sn == 'never' and self.idx == 1):
            k2 = self._free_slot()
            if k2 is not None:
                if sn == 'never' and self.idx == 1:
                    c, s = self.tcol, self.tshape          # the asked lamp, never lit
                else:
                    c, s = COLOUR_NAMES[rng.integers(7)], SHAPES[rng.integers(3)]
                    if sn == 'easy':                        # keep easy free of look-alikes
                        c, s = self._pick_distractor('diff')
                self._add_lamp(c, s, k2, [])
        for _ in range(int(rng.integers(0, 4))):
            self._place_on_belt(self._belt_obj(None, None, carton=True), S)
        # workers
        self.workers = []
        nw = rng.poisson(self.dur / 35.0)
        for _ in range(nw):
            flip = rng.random() < 0.5
            fr = [make_worker(H, rng, ph, flip) for ph in (0, 1)]
            self.workers.append(dict(t0=rng.uniform(-3, self.dur), speed=rng.uniform(0.14, 0.26) * W,
                                     dir=-1 if flip else 1, sprs=fr, y=self.walk_y,
                                     step=rng.uniform(1.6, 2.4)))
        self.post = make_post(self.lens.CH, max(4, int(0.032 * H))) if self.post_x is not None else None

    # ---------------------------------------------------------------- per frame state
    def lamp_on(self, sched, t):
        if isinstance(sched, tuple):
            _, per, ph = sched
            return ((t + ph) % per) < per / 2
        return any(a <= t < b for a, b in sched)

    def state(self, i):
        t = i / self.fps
        s = self.s_arr[i]
        moving = 1 if self.v_arr[i] > 0 else 0
        draws = list(self.statics)
        for lp in self.lamps:
            draws.append(lp['on'] if self.lamp_on(lp['sched'], t) else lp['off'])
        for ob in self.belt_objs:
            pos = self._belt_pos(ob, ob['p0'] + s)
            if pos is None:
                continue
            lane, x, y = pos
            draws.append(Draw(ob['sprs'][lane][moving], x, y, 2, ob['target'], ob['name']))
        CW = self.lens.CW
        for wk in self.workers:
            x = (-0.2 * self.H if wk['dir'] > 0 else CW + 0.2 * self.H) + wk['dir'] * wk['speed'] * (t - wk['t0'])
            if -0.3 * self.H < x < CW + 0.3 * self.H:
                ph = int((t - wk['t0']) * wk['step']) % 2
                draws.append(Draw(wk['sprs'][ph], x, wk['y'], 5, False, 'worker'))
        if self.post is not None:
            draws.append(Draw(self.post, self.post_x, self.lens.CH / 2.0, 9, False, 'post'))
        draws.sort(key=lambda d: d.z)
        return draws

    # ---------------------------------------------------------------- effects
    def _effects(self):
        rng, N, fps = self.rng, self.N, self.fps
        self.crf = int(rng.integers(29, 37))
        self.gop = int(fps * rng.uniform(2, 5))
        self.jpeg_q = int(rng.integers(22, 45)) if (self.W <= 640 and rng.random() < 0.3) else 0
        self.noise_sigma = rng.uniform(2.0, 5.5)
        tints = [(1.0, 1.0, 1.0), (1.07, 1.0, 0.9), (0.95, 1.0, 1.07), (0.97, 1.04, 0.96), (1.04, 1.0, 0.95)]
        self.tint = np.array(tints[rng.integers(len(tints))]) * (1 + rng.uniform(-0.02, 0.02, 3))
        wa = rng.uniform(0.02, 0.06)
        self.wb = np.stack([1 + smooth_series(rng, N, fps * rng.uniform(6, 20), wa),
                            np.ones(N),
                            1 + smooth_series(rng, N, fps * rng.uniform(6, 20), wa)], 1)
        for _ in range(rng.poisson(self.dur / 40.0)):      # AWB re-lock steps
            t0 = int(rng.integers(0, N))
            step = rng.uniform(-0.05, 0.05, 3) * np.array([1, 0.3, 1])
            ramp = np.clip((np.arange(N) - t0) / max(1, fps * 0.8), 0, 1)
            self.wb = self.wb + ramp[:, None] * step[None]
        self.wb = self.wb * self.tint[None]
        amb = 1 + smooth_series(rng, N, fps * rng.uniform(5, 15), rng.uniform(0.02, 0.07))
        for _ in range(rng.poisson(self.dur / 45.0)):      # dock door opens / skylight
            t0 = rng.uniform(0, self.dur)
            ln = rng.uniform(4, 20)
            st = rng.uniform(0.15, 0.3) * (1 if rng.random() < 0.7 else -0.6)
            t = np.arange(N) / fps
            ramp = np.clip((t - t0) / 0.8, 0, 1) * np.clip((t0 + ln - t) / 0.8 + 1, 0, 1)
            amb = amb * (1 + st * ramp)
        self.amb = amb
        self.flicker = rng.random() < 0.6
        self.fl_amp = rng.uniform(0.02, 0.06)
        self.fl_nb = rng.uniform(0.7, 2.5)
        self.fl_dphi = rng.uniform(0.4, 2.6)
        gflick = np.ones(N)
        if rng.random() < 0.35:                            # failing tube
            for _ in range(int(rng.integers(1, 4))):
                t0 = int(rng.integers(0, N))
                ln = int(rng.uniform(0.5, 2.0) * fps) + 1
                gflick[t0:t0 + ln] *= rng.uniform(0.78, 1.0, len(gflick[t0:t0 + ln]))
        self.gflick = gflick
        self.ae_w = 2 * math.pi / rng.uniform(1.2, 3.0)
        self.ae_z = rng.uniform(0.15, 0.45)
        self.ae_kick = np.zeros(N)
        for _ in range(rng.poisson(self.dur / 40.0)):
            self.ae_kick[int(rng.integers(0, N))] = rng.uniform(-0.8, 0.8)
        # vibration episodes, kept away from the planned on/off instants
        self.shake = np.zeros((N, 2), int)
        self.shblur = np.zeros(N, bool)
        edges = [e for ab in self.planned for e in ab]
        for _ in range(rng.poisson(self.dur / 45.0)):
            t0 = rng.uniform(0, self.dur)
            ln = rng.uniform(0.7, 2.5)
            if any(t0 - 1.5 < e < t0 + ln + 1.5 for e in edges):
                continue
            amp = rng.uniform(1, 4)
            a, b = int(t0 * fps), min(N, int((t0 + ln) * fps) + 1)
            self.shake[a:b] = np.round(rng.uniform(-amp, amp, (b - a, 2))).astype(int)
            self.shblur[a:b] = rng.random() < 0.6
        # output-space maps
        H, W = self.H, self.W
        L = self.lens
        va = rng.uniform(0.2, 0.45)
        vig = 1 - va * L.r2 ** 1.25
        yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
        for _ in range(int(rng.integers(1, 5))):             # dust on the dome
            px, py = rng.uniform(0, W), rng.uniform(0, H)
            sg = rng.uniform(0.02, 0.06) * H
            vig *= 1 - rng.uniform(0.04, 0.12) * np.exp(-((xx - px) ** 2 + (yy - py) ** 2) / (2 * sg * sg))
        self.vig = vig.astype(np.float32)
        self.rows = (np.arange(H, dtype=np.float32) / H)[:, None]
        nl = rng.normal(0, 1, (1, H + 32, W + 32)).astype(np.float32)
        nc = rng.normal(0, 1, (3, H + 32, W + 32)).astype(np.float32)
        self.noise = nl * 0.85 + nc * 0.45

    # ---------------------------------------------------------------- background
    def build_background(self):
        rng, L, H = self.rng, self.lens, self.H
        CW, CH = L.CW, L.CH
        yy = np.arange(CH, dtype=np.float32)[:, None]
        xx = np.arange(CW, dtype=np.float32)[None, :]
        img = np.empty((CH, CW, 3), np.float32)
        fl = (102 * rng.uniform(0.88, 1.1) + 18 * lowfreq(rng, CH, CW, 6) + 8 * lowfreq(rng, CH, CW, 28)
              + rng.normal(0, 2.5, (CH, CW)).astype(np.float32))
        ftint = np.array([1.0, 0.98, 0.93]) * (1 + rng.uniform(-0.03, 0.03, 3))
        img[:] = fl[..., None] * ftint
        J = int(H * rng.uniform(0.5, 0.8))
        for x in range(int(rng.integers(0, J)), CW, J):
            img[:, x:x + 2] *= 0.8
        yw = int(self.y_wall)
        for y in range(yw + int(J * 0.4), CH, J):
            img[y:y + 2] *= 0.8
        for _ in range(int(rng.integers(3, 8))):           # oil stains / tyre marks
            sx, sy = rng.uniform(0, CW), rng.uniform(yw, CH)
            ax, ay = rng.uniform(0.05, 0.3) * H, rng.uniform(0.02, 0.12) * H
            st = np.exp(-((xx - sx) ** 2) / (2 * ax * ax)) * np.exp(-((yy - sy) ** 2) / (2 * ay * ay))
            img *= (1 - rng.uniform(0.08, 0.2) * st)[..., None]
        # back wall
        wallc = np.array([[150, 152, 146], [140, 146, 150], [156, 150, 138], [128, 134, 132]][rng.integers(4)], np.float32)
        img[:yw] = wallc * (1 + 0.05 * lowfreq(rng, yw, CW, 10))[..., None]
        seam = int(H * rng.uniform(0.3, 0.45))
        for x in range(int(rng.integers(0, seam)), CW, seam):
            img[:yw, x:x + 2] *= 0.86
        yd = yw - int(0.2 * yw)
        dado = np.array([[78, 92, 104], [96, 84, 70], [70, 84, 78], [92, 94, 98]][rng.integers(4)], np.float32)
        img[yd:yw] = dado * (1 + 0.04 * lowfreq(rng, yw - yd, CW, 12))[..., None]
        img[yd:yd + 2] *= 1.25
        img[yw - 3:yw] *= 0.5
        # roller door on the left part of the wall
        dx0 = int(L.o2w(rng.uniform(0.04, 0.14), 0.2)[0])
        dx1 = dx0 + int(rng.uniform(0.35, 0.55) * H)
        dy0 = int(yw * 0.3)
        door = img[dy0:yw - 3, dx0:dx1]
        door[:] = np.array([118, 122, 126], np.float32) * (0.9 + 0.1 * ((np.arange(door.shape[0]) // 3) % 2))[:, None, None]
        img[dy0:yw - 3, dx0:dx0 + 4] *= 0.55
        img[dy0:yw - 3, max(dx0, dx1 - 4):dx1] *= 0.55
        img[dy0:dy0 + 5, dx0:dx1] *= 0.6
        for py in (0.08, 0.13):                             # conduits
            y = int(yw * py)
            img[y:y + 3] = np.array([170, 172, 170], np.float32)
            img[y + 3:y + 4] *= 0.6
        for (x, y, d) in self.housings:                     # lamp housings
            s = 0.78 * d
            hx0, hx1, hy0, hy1 = int(x - s), int(x + s), int(y - s), int(y + s)
            img[hy0:hy1, hx0:hx1] = np.array([40, 42, 46], np.float32)
            img[hy0:hy0 + 2, hx0:hx1] = 90
            img[hy1:hy1 + 3, hx0:hx1] *= 0.6
        # conveyor rails and their shadows
        rt = max(3, int(0.022 * H))
        self.belt_rows = []
        for yc in (self.yt, self.yb):
            y0 = int(yc - self.bw / 2)
            y1 = y0 + self.bw
            self.belt_rows.append((y0, y1))
            shd = int(0.05 * H)
            prof = np.linspace(0.55, 1.0, shd, dtype=np.float32)
            img[y1 + rt:y1 + rt + shd] *= prof[:, None, None]
            steel = np.array([150, 154, 160], np.float32)
            for (r0, r1) in ((y0 - rt, y0), (y1, y1 + rt)):
                g = np.linspace(1.25, 0.75, r1 - r0, dtype=np.float32)
                img[r0:r1] = steel * g[:, None, None]
            leg = int(0.5 * H)
            for x in range(int(rng.integers(0, leg)), CW, leg):
                img[y1 + rt:y1 + rt + int(0.035 * H), x:x + max(2, rt)] = 58
        # walkway lines
        yl = int(self.yb + self.bw / 2 + rt + 0.06 * H)
        lc = np.array([158, 142, 70], np.float32)
        img[yl:yl + max(2, int(0.01 * H))] = lc
        ylt = int((yw + self.yt - self.bw / 2 - rt) / 2)
        img[ylt:ylt + 2] = lc * 0.9
        # bench (bottom left)
        bx0, by0 = L.o2w(0.06, 0.81)
        bx1, by1 = L.o2w(0.36, 1.0)
        bx0, by0, bx1, by1 = int(bx0), int(by0), int(bx1), int(by1)
        bc = np.array([[112, 100, 86], [96, 100, 104]][rng.integers(2)], np.float32)
        grain = lowfreq(rng, max(1, by1 - by0), max(1, bx1 - bx0), 30)
        img[by0:by1, bx0:bx1] = bc * (1 + 0.1 * grain)[..., None]
        img[by1:by1 + int(0.02 * H), bx0:bx1] *= 0.45
        img[by0:by0 + 2, bx0:bx1] *= 1.2
        # ceiling-light pools
        illum = np.full((CH, CW), 0.86, np.float32)
        for _ in range(int(rng.integers(2, 5))):
            lx, ly = rng.uniform(0, CW), rng.uniform(0, CH)
            sx, sy = rng.uniform(0.3, 0.7) * H, rng.uniform(0.2, 0.5) * H
            illum += rng.uniform(0.08, 0.2) * np.exp(-((xx - lx) ** 2) / (2 * sx * sx)) * np.exp(-((yy - ly) ** 2) / (2 * sy * sy))
        img *= illum[..., None]
        self.bg = np.ascontiguousarray(np.clip(img, 0, 255).astype(np.uint8).transpose(2, 0, 1))
        # belt strips
        P = max(8, int(0.07 * H))
        PL = P * 7
        self.PL = PL
        self.strips = []
        for (y0, y1) in self.belt_rows:
            bw = y1 - y0
            base = 48 + rng.uniform(-6, 6)
            tile = base + rng.normal(0, 3, (bw, PL)).astype(np.float32)
            tile += 7 * lowfreq(rng, bw, PL, 20)
            er = np.abs(np.linspace(-1, 1, bw, dtype=np.float32))[:, None]
            tile *= 1 - 0.25 * er ** 4
            cw = max(2, P // 6)
            for x in range(0, PL, P):
                tile[:, x:x + cw] += 20
                tile[:, x + cw:x + cw + 1] -= 8
            rgb = tile[..., None] * np.array([1.0, 1.0, 1.03], np.float32)
            rgb *= illum[y0:y1].mean(axis=1)[:, None, None]
            reps = (CW + PL) // PL + 2
            strip = np.tile(rgb, (1, reps, 1))[:, :CW + PL]
            self.strips.append(np.ascontiguousarray(np.clip(strip, 0, 255).astype(np.uint8).transpose(2, 0, 1)))

    def render_world(self, i, draws):
        w = self.bg.copy()
        s = int(round(self.s_arr[i]))
        CW = self.lens.CW
        PL = self.PL
        (t0, t1), (b0, b1) = self.belt_rows
        o = (-s) % PL
        w[:, t0:t1, :] = self.strips[0][:, :, o:o + CW]
        o = s % PL
        w[:, b0:b1, :] = self.strips[1][:, :, o:o + CW]
        for d in draws:
            blit(w, d.spr, d.x0, d.y0)
        return w


# ----------------------------------------------------------------------------- checks

def runs(vis, fps):
    ev = []
    i, n = 0, len(vis)
    while i < n:
        if vis[i]:
            j = i
            while j + 1 < n and vis[j + 1]:
                j += 1
            ev.append([round(i / fps, 4), round((j + 1) / fps, 4)])
            i = j + 1
        else:
            i += 1
    return ev


def check_events(sc, ev):
    sn = sc.set_name
    if sn in ('easy', 'hard', 'long'):
        lo, hi = (6.0, 12.0) if sn != 'long' else (90.0, 150.0)
        if len(ev) != 1:
            return 'expected 1 event, got %s' % ev
        a, b = ev[0]
        if not (lo <= b - a <= hi):
            return 'event length %.2f' % (b - a)
        if sc.from_first and a != 0.0:
            return 'should start at 0'
        if not sc.from_first and a < 1.0:
            return 'starts too early'
        if b >= sc.dur - 0.5:
            return 'runs to the end'
    elif sn == 'twice':
        if len(ev) != 2:
            return 'expected 2 events, got %s' % ev
        for a, b in ev:
            if not (10.0 <= b - a <= 25.0):
                return 'visit length %.2f' % (b - a)
        if ev[1][0] - ev[0][1] < 3.0:
            return 'gap too short'
        if ev[0][0] < 1.0 or ev[1][1] >= sc.dur - 0.5:
            return 'visits touch the ends'
    else:
        if ev:
            return 'never set has events'
    return None


def geometry_pass(sc):
    vis = np.zeros(sc.N, bool)
    for i in range(sc.N):
        sh = tuple(sc.shake[i])
        vis[i] = sc._frac(sc.state(i), sh) >= 0.5
    return vis


def plan_clip(set_name, idx):
    last = None
    for attempt in range(40):
        try:
            sc = Scene(set_name, idx, attempt)
        except PlanError as e:
            last = str(e)
            continue
        vis = geometry_pass(sc)
        ev = runs(vis, sc.fps)
        err = check_events(sc, ev)
        if err is None:
            sc.vis_plan = vis
            sc.attempt = attempt
            return sc
        last = err
    raise RuntimeError('could not plan %s %d: %s' % (set_name, idx, last))


# ----------------------------------------------------------------------------- render

def render_clip(sc, out_dir, name):
    sc.build_background()
    W, H, N, fps = sc.W, sc.H, sc.N, sc.fps
    L = sc.lens
    path = os.path.join(out_dir, name + '.mp4')
    container = av.open(path, 'w')
    st = container.add_stream('libx264', rate=fps)
    st.width, st.height = W, H
    st.pix_fmt = 'yuv420p'
    st.time_base = Fraction(1, fps)
    st.codec_context.thread_count = 1
    st.options = {'crf': str(sc.crf), 'preset': 'veryfast',
                  'x264-params': 'keyint=%d:min-keyint=%d:threads=1:lookahead-threads=1' % (sc.gop, max(1, sc.gop // 4))}
    vis = np.zeros(N, bool)
    g, gv = 1.0, 0.0
    target_mean = None
    phi = 0.0
    wflat = [None] * 3
    f = np.empty((3, H, W), np.float32)
    tmp = np.empty((H, W), np.float32)
    tmp2 = np.empty((H, W), np.float32)
    sample = None
    ev_plan = runs(sc.vis_plan, fps)
    sample_i = None
    if ev_plan:
        a, b = ev_plan[0]
        sample_i = min(N - 1, int(((a + b) / 2) * fps))
    rng = np.random.default_rng(sc.rng.integers(1 << 30))
    for i in range(N):
        draws = sc.state(i)
        sh = tuple(sc.shake[i])
        vis[i] = sc._frac(draws, sh) >= 0.5
        world = sc.render_world(i, draws)
        off = int(sh[1]) * L.CW + int(sh[0])
        for c in range(3):
            plane = world[c].reshape(-1)
            idx = L.idx[c] if off == 0 else L.idx[c] + off
            if sc.shblur[i]:
                idx2 = idx - (int(np.sign(sh[0]) or 1) * 2)
                f[c] = ((plane[idx].astype(np.float32) + plane[idx2]) * 0.5).reshape(H, W)
            else:
                f[c] = plane[idx].reshape(H, W)
        raw = float(f[:, ::7, ::7].mean()) * sc.amb[i]
        if target_mean is None:
            target_mean = raw * sc.rng.uniform(0.97, 1.08)
        desired = min(1.6, max(0.6, target_mean / max(raw, 1.0)))
        dt = 1.0 / fps
        gv += (sc.ae_w ** 2 * (desired - g) - 2 * sc.ae_z * sc.ae_w * gv) * dt + sc.ae_kick[i]
        g = min(1.7, max(0.55, g + gv * dt))
        gain = sc.amb[i] * g * sc.gflick[i]
        if sc.flicker:
            phi += sc.fl_dphi
            rowg = 1 + sc.fl_amp * np.sin(2 * np.pi * sc.fl_nb * sc.rows + phi)
            np.multiply(sc.vig, rowg.astype(np.float32), out=tmp)
        else:
            tmp[:] = sc.vig
        tmp *= gain
        sig = sc.noise_sigma * math.sqrt(g)
        ox, oy = int(rng.integers(0, 32)), int(rng.integers(0, 32))
        for c in range(3):
            np.multiply(tmp, sc.wb[i, c], out=tmp2)
            f[c] *= tmp2
            f[c] += sc.noise[c, oy:oy + H, ox:ox + W] * sig
        np.clip(f, 0, 255, out=f)
        hwc = np.ascontiguousarray(f.transpose(1, 2, 0)).astype(np.uint8)
        if sc.jpeg_q:
            buf = io.BytesIO()
            Image.fromarray(hwc).save(buf, 'JPEG', quality=sc.jpeg_q)
            hwc = np.array(Image.open(io.BytesIO(buf.getvalue())).convert('RGB'))
        sec = int(i / fps)
        tl = sc._osd_img(sec)
        Scene._paste_rgba(hwc, tl, sc.osd_tl[0], sc.osd_tl[1])
        Scene._paste_rgba(hwc, sc.osd_br_img, sc.osd_br_rect[0], sc.osd_br_rect[1])
        frame = av.VideoFrame.from_ndarray(rgb_to_yuv420(hwc), format='yuv420p')
        frame.pts = i
        for pkt in st.encode(frame):
            container.mux(pkt)
        if i == sample_i:
            sample = dict(i=i, t=i / fps, box=target_box(sc, draws, sh), raw=hwc.copy())
    for pkt in st.encode():
        container.mux(pkt)
    container.close()
    if not np.array_equal(vis, sc.vis_plan):
        raise RuntimeError('render visibility differs from plan for ' + name)
    ev = runs(vis, fps)
    meta = {'target': sc.target_text, 'events': ev, 'duration': float(N / fps)}
    with open(os.path.join(out_dir, name + '.json'), 'w') as fh:
        json.dump(meta, fh)
    return meta, sample


def rgb_to_yuv420(hwc):
    """BT.601 limited-range RGB -> planar yuv420p (2x2 box chroma), done here so the
    encoder input is exactly reproducible."""
    h, w, _ = hwc.shape
    a = hwc.astype(np.float32)
    R, G, B = a[..., 0], a[..., 1], a[..., 2]
    out = np.empty((h * 3 // 2, w), np.uint8)
    Y = R * 0.2568
    Y += G * 0.5041
    Y += B * 0.0979
    Y += 16.5
    np.clip(Y, 0, 255, out=Y)
    out[:h] = Y
    s = a[0::2, 0::2] + a[1::2, 0::2]
    s += a[0::2, 1::2]
    s += a[1::2, 1::2]
    s *= 0.25
    r, g, b = s[..., 0], s[..., 1], s[..., 2]
    U = 128.5 - 0.1482 * r - 0.2910 * g + 0.4392 * b
    V = 128.5 + 0.4392 * r - 0.3678 * g - 0.0714 * b
    n = U.size
    flat = out[h:].reshape(-1)
    flat[:n] = np.clip(U, 0, 255).ravel()
    flat[n:] = np.clip(V, 0, 255).ravel()
    return out


def target_box(sc, draws, sh):
    for d in draws:
        if d.target:
            m = window(sc.vismask, d.x0 - sh[0], d.y0 - sh[1], d.spr.w, d.spr.h) & d.spr.mask
            ys, xs = np.nonzero(m)
            if len(xs) == 0:
                return None
            wx = xs + d.x0 - sh[0]
            wy = ys + d.y0 - sh[1]
            xo, yo = sc.lens.xo[wy, wx], sc.lens.yo[wy, wx]
            return [int(xo.min()), int(yo.min()), int(math.ceil(xo.max())), int(math.ceil(yo.max())), d.name]
    return None


# ----------------------------------------------------------------------------- sanity check

def sanity_check(out, sets, samples_dir, sample_info):
    ok = True
    for sn in sets:
        d = os.path.join(out, sn)
        names = sorted(f[:-5] for f in os.listdir(d) if f.endswith('.json'))
        for k, name in enumerate(names):
            meta = json.load(open(os.path.join(d, name + '.json')))
            D = meta['duration']
            for a, b in meta['events']:
                if not (0 <= a < b <= D + 1e-6):
                    log('  BAD events', name, meta['events'])
                    ok = False
            if k < 2:
                with av.open(os.path.join(d, name + '.mp4')) as c:
                    s = c.streams.video[0]
                    rate = float(s.average_rate)
                    times = [fr.time for fr in c.decode(s)]
                    n = len(times)
                    dur = (times[-1] - times[0]) + 1.0 / rate if n else 0.0
                    good = (abs(dur - D) < 0.5 / rate and abs(n / rate - D) < 0.5 / rate and abs(times[0]) < 1e-6
                            and all(b > a for a, b in zip(times, times[1:])))
                    log('  check %s: %d frames %dx%d @%.0ffps, first %.3fs, decoded %.3fs, sidecar %.2fs; %s events=%s %s' % (
                        name, n, s.codec_context.width, s.codec_context.height, rate, times[0] if n else -1, dur, D,
                        meta['target'], meta['events'], 'OK' if good else 'MISMATCH'))
                    ok &= good
    if samples_dir and sample_info:
        os.makedirs(samples_dir, exist_ok=True)
        notes = []
        for name, sn, smp in sample_info:
            if smp is None:
                continue
            path = os.path.join(out, sn, name + '.mp4')
            img = None
            with av.open(path) as c:
                for k, fr in enumerate(c.decode(video=0)):
                    if k == smp['i']:
                        img = fr.to_image()
                        break
            p = os.path.join(samples_dir, '%s_t%.1f.png' % (name, smp['t']))
            img.save(p)
            ann = img.copy()
            bx = smp['box']
            if bx:
                dr = ImageDraw.Draw(ann)
                dr.rectangle([bx[0] - 3, bx[1] - 3, bx[2] + 3, bx[3] + 3], outline=(255, 255, 255))
            pa = p.replace('.png', '_annot.png')
            ann.save(pa)
            meta = json.load(open(os.path.join(out, sn, name + '.json')))
            notes.append('%s: question "%s"; frame %d (t=%.2f s); target = the %s, output box x %d-%d, y %d-%d '
                         '(white box in %s); events %s' % (os.path.basename(p), meta['target'], smp['i'], smp['t'],
                                                            bx[4] if bx else '?', bx[0], bx[2], bx[1], bx[3],
                                                            os.path.basename(pa), meta['events']))
        with open(os.path.join(samples_dir, 'notes.txt'), 'w') as fh:
            fh.write('\n'.join(notes) + '\n')
        for n_ in notes:
            log('  sample', n_)
    return ok


# ----------------------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--out', required=True)
    ap.add_argument('--sets', default=','.join(SET_ORDER))
    ap.add_argument('--limit', type=int, default=0, help='at most N clips per set (debug)')
    ap.add_argument('--check', action='store_true', help='decode and check clips afterwards')
    ap.add_argument('--samples', default='', help='write sample PNGs here (with --check)')
    args = ap.parse_args()
    sets = [s.strip() for s in args.sets.split(',') if s.strip()]
    for s in sets:
        if s not in SETS:
            ap.error('unknown set ' + s)
    t_all = time.time()
    sample_info = []
    total_frames = 0
    for sn in sets:
        d = os.path.join(args.out, sn)
        os.makedirs(d, exist_ok=True)
        n = SETS[sn]['n'] if not args.limit else min(args.limit, SETS[sn]['n'])
        for idx in range(n):
            t0 = time.time()
            name = '%s_%02d' % (sn, idx)
            sc = plan_clip(sn, idx)
            t1 = time.time()
            meta, smp = render_clip(sc, d, name)
            total_frames += sc.N
            log('[%6.1fs] %s %dx%d %dfps %d frames crf%d%s lens k1=%.2f  "%s" via %s events=%s  '
                'distractors: %s  (plan %.1fs try %d, render %.1fs)' % (
                    time.time() - t_all, name, sc.W, sc.H, sc.fps, sc.N, sc.crf,
                    ' mjpeg q%d' % sc.jpeg_q if sc.jpeg_q else '', sc.lens.k1, sc.target_text, sc.mech,
                    meta['events'], '; '.join(sc.distractors) or '-', t1 - t0, sc.attempt, time.time() - t1))
            if idx in (0, 1) and sn in ('easy', 'hard', 'twice', 'long'):
                sample_info.append((name, sn, smp))
    log('generated %d frames in %.1fs' % (total_frames, time.time() - t_all))
    if args.check:
        ok = sanity_check(args.out, sets, args.samples, sample_info)
        log('sanity check', 'OK' if ok else 'FAILED')
        if not ok:
            sys.exit(1)


if __name__ == '__main__':
    main()

#!/usr/bin/env python3
"""Synthetic 'security camera' clips for testing a video QA system.

Each clip watches a static scene (perspective floor/yard with a wall or
skyline) in which flat coloured tokens and small signs appear, sit still,
slide in/out or vanish, with walking dark figures / moving grey pillars that
occlude things.  One object per clip is the target ("a <colour> <shape>");
its visibility intervals are measured frame by frame from the very same layer
geometry used for rendering (visible = >=50% of its shape area inside the
frame and not covered by anything drawn in front of it).

Usage:  python gen.py [--out /tmp/famd] [--sets easy,hard,long,twice]
Single process; encoding via PyAV/libx264 (1 thread).
"""
import argparse
import io
import json
import math
import os
import sys
import time
from fractions import Fraction

import av
import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

COLOURS = ["red", "green", "blue", "yellow", "magenta", "cyan", "white"]
SHAPES = ["circle", "square", "triangle"]
# base RGB ranges per colour (lo, hi) per channel
COLOUR_RANGES = {
    "red": ((195, 240), (15, 60), (15, 55)),
    "green": ((25, 75), (150, 205), (35, 85)),
    "blue": ((20, 60), (50, 105), (185, 240)),
    "yellow": ((220, 250), (195, 232), (10, 60)),
    "magenta": ((195, 240), (20, 70), (185, 235)),
    "cyan": ((20, 70), (190, 232), (205, 245)),
    "white": ((228, 252), (228, 252), (228, 252)),
}
RESOLUTIONS = [(352, 288), (424, 240), (640, 360), (720, 480)]

SETS = {
    "easy": dict(n=16, dur=30, seed=51001, mode="once", vis=(8.0, 14.0), lookalike=False,
                 fps=[8, 10, 12, 15, 20, 24, 25, 30]),
    "hard": dict(n=12, dur=30, seed=52002, mode="once", vis=(8.0, 14.0), lookalike=True,
                 fps=[8, 10, 12, 15, 20, 24, 25, 30]),
    "long": dict(n=8, dur=180, seed=53003, mode="once", vis=(90.0, 150.0), lookalike=False,
                 fps=[8, 10, 12, 15]),
    "twice": dict(n=6, dur=90, seed=54004, mode="twice", vis=(15.0, 25.0), lookalike=False,
                  fps=[8, 10, 12, 15, 20]),
}


def rand_rgb(rng, colour):
    c = np.array([rng.uniform(lo, hi) for lo, hi in COLOUR_RANGES[colour]], np.float32)
    return c / 255.0


# ----------------------------------------------------------------------------
# background
# ----------------------------------------------------------------------------

def value_noise(rng, shape_grid, u, v):
    """Bilinear value noise sampled at world coords (u, v) with wrap."""
    g = rng.random(shape_grid).astype(np.float32)
    gh, gw = shape_grid
    u = np.mod(u, gw)
    v = np.mod(v, gh)
    i0 = np.floor(u).astype(np.int64)
    j0 = np.floor(v).astype(np.int64)
    fu = (u - i0).astype(np.float32)
    fv = (v - j0).astype(np.float32)
    fu = fu * fu * (3 - 2 * fu)
    fv = fv * fv * (3 - 2 * fv)
    i1 = (i0 + 1) % gw
    j1 = (j0 + 1) % gh
    a = g[j0, i0] * (1 - fu) + g[j0, i1] * fu
    b = g[j1, i0] * (1 - fu) + g[j1, i1] * fu
    return a * (1 - fv) + b * fv


def grey(rng, lo, hi, sat=0.06):
    base = rng.uniform(lo, hi)
    tint = 1 + rng.uniform(-sat, sat, 3)
    return np.clip(base * tint, 0, 1).astype(np.float32)


def make_background(rng, W, H, geo):
    SS = 2
    h, w = H * SS, W * SS
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    ys = (ys + 0.5) / SS
    xs = (xs + 0.5) / SS
    img = np.zeros((h, w, 3), np.float32)
    yh, ybd, f = geo["yh"], geo["ybd"], geo["f"]
    kind = geo["kind"]
    # ---------------- ground ----------------
    d = np.maximum(ys - yh, 0.5)
    z = f / d  # camera height = 1 unit
    X = (xs - W / 2) / d
    a = geo["yaw"]
    U = X * math.cos(a) - z * math.sin(a) + rng.uniform(0, 50)
    V = X * math.sin(a) + z * math.cos(a) + rng.uniform(0, 50)
    n1 = value_noise(rng, (64, 64), U * 6, V * 6)
    n2 = value_noise(rng, (64, 64), U * 25, V * 25)
    n3 = value_noise(rng, (32, 32), U * 1.2, V * 1.2)
    if kind == "tiles":
        ts = rng.uniform(0.12, 0.3)
        ti = np.floor(U / ts)
        tj = np.floor(V / ts)
        c1 = grey(rng, 0.45, 0.7)
        c2 = c1 * rng.uniform(0.75, 0.95) if rng.random() < 0.6 else c1 * rng.uniform(0.97, 1.0)
        chk = ((ti + tj) % 2)[..., None]
        col = c1 * (1 - chk) + c2 * chk
        hsh = (np.sin(ti * 12.9898 + tj * 78.233) * 43758.5453) % 1.0
        col = col * (0.93 + 0.1 * hsh[..., None])
        fu = np.abs(U / ts - np.round(U / ts))
        fv = np.abs(V / ts - np.round(V / ts))
        gw = 0.04
        grout = ((fu < gw) | (fv < gw)).astype(np.float32)[..., None]
        col = col * (1 - grout) + grey(rng, 0.25, 0.4) * grout
        col = col * (0.9 + 0.12 * n2[..., None])
    elif kind == "asphalt":
        c = grey(rng, 0.22, 0.38, 0.04)
        col = c * (0.8 + 0.25 * n1[..., None] + 0.2 * n2[..., None] - 0.15 * n3[..., None])
        # painted parking lines
        sp = rng.uniform(0.5, 0.9)
        lw = 0.025
        fu = np.abs(U / sp - np.round(U / sp)) * sp
        line = ((fu < lw) & (np.mod(V, 3.0) < 1.6)).astype(np.float32)[..., None]
        col = col * (1 - 0.85 * line) + grey(rng, 0.7, 0.85, 0.02) * 0.85 * line
    elif kind == "concrete":
        c = grey(rng, 0.45, 0.62, 0.05)
        sl = rng.uniform(0.6, 1.2)
        fu = np.abs(U / sl - np.round(U / sl)) * sl
        fv = np.abs(V / sl - np.round(V / sl)) * sl
        seam = ((fu < 0.012) | (fv < 0.012)).astype(np.float32)[..., None]
        col = c * (0.85 + 0.15 * n1[..., None] + 0.1 * n2[..., None] - 0.2 * (n3[..., None] > 0.7))
        col = col * (1 - 0.45 * seam)
    else:  # dirt / gravel yard
        c = np.array([rng.uniform(0.42, 0.55), rng.uniform(0.36, 0.46), rng.uniform(0.28, 0.36)], np.float32)
        col = c * (0.7 + 0.3 * n1[..., None] + 0.25 * n2[..., None] + 0.15 * n3[..., None])
    # distance haze
    fog_col = grey(rng, 0.5, 0.7)
    fog = 1 - np.exp(-z / geo["fogz"])
    col = col * (1 - fog[..., None]) + fog_col * fog[..., None]
    ground = ys >= ybd
    img[ground] = col[ground]
    # ---------------- backdrop ----------------
    top = ~ground
    if geo["indoor"]:
        wc = grey(rng, 0.55, 0.8, 0.07)
        wall = np.broadcast_to(wc, img.shape).copy()
        wall *= (0.85 + 0.2 * (ys / H))[..., None]  # gradient
        wall *= (0.95 + 0.06 * value_noise(rng, (32, 32), xs / 20, ys / 20))[..., None]
        npan = rng.integers(3, 7)
        for k in range(1, npan):
            xk = W * k / npan + rng.uniform(-10, 10)
            wall[np.abs(xs - xk) < 0.8] *= 0.75
        # baseboard
        bb = rng.uniform(0.015, 0.035) * H
        wall[(ys > ybd - bb) & (ys < ybd)] = grey(rng, 0.2, 0.4)
        # door / window / notice board (all grey-ish, not colourful)
        for _ in range(rng.integers(1, 3)):
            dw = rng.uniform(0.08, 0.2) * W
            dx = rng.uniform(0, W - dw)
            if rng.random() < 0.5:  # door
                dy0 = ybd - rng.uniform(0.6, 0.95) * ybd
                m = (xs > dx) & (xs < dx + dw) & (ys > dy0) & (ys < ybd - bb)
                wall[m] = grey(rng, 0.25, 0.5) * (0.9 + 0.1 * (xs[m] - dx)[..., None] / dw)
            else:  # window
                dy0 = rng.uniform(0.05, 0.3) * ybd
                dh = rng.uniform(0.2, 0.45) * ybd
                m = (xs > dx) & (xs < dx + dw) & (ys > dy0) & (ys < dy0 + dh)
                wall[m] = grey(rng, 0.7, 0.9, 0.03) * (0.85 + 0.15 * ((ys[m] - dy0) / dh))[..., None]
                fr = m & ((np.abs(xs - dx - dw / 2) < 1.0) | (np.abs(ys - dy0 - dh / 2) < 1.0))
                wall[fr] = grey(rng, 0.3, 0.45)
        img[top] = wall[top]
    else:
        sk1 = grey(rng, 0.72, 0.88, 0.05)
        sk2 = sk1 * np.array([0.9, 0.93, 1.0], np.float32)
        tt = np.clip(ys / max(ybd, 1), 0, 1)[..., None]
        sky = sk2 * (1 - tt) + sk1 * tt
        # skyline blocks
        x = 0.0
        while x < W:
            bw = rng.uniform(0.06, 0.2) * W
            bh = rng.uniform(0.2, 0.9) * ybd
            bc = grey(rng, 0.3, 0.55)
            m = (xs >= x) & (xs < x + bw) & (ys > ybd - bh)
            if rng.random() < 0.7:
                blk = bc * (0.95 + 0.1 * ((np.mod(xs, 9) < 4) & (np.mod(ys, 11) < 5)))[..., None]
                sky[m] = blk[m]
            x += bw + rng.uniform(0, 0.05) * W
        # fence at base
        fh = rng.uniform(0.03, 0.08) * H
        fm = (ys > ybd - fh) & (ys < ybd)
        fc = grey(rng, 0.25, 0.45)
        post = np.mod(xs, rng.uniform(12, 30)) < 2
        sky[fm & (post | (np.abs(ys - (ybd - fh * 0.8)) < 0.8))] = fc
        img[top] = sky[top]
    # downsample
    img = img.reshape(H, SS, W, SS, 3).mean(axis=(1, 3))
    return np.clip(img, 0, 1).astype(np.float32)


# ----------------------------------------------------------------------------
# sprites
# ----------------------------------------------------------------------------

class Sprite:
    """Premultiplied RGB + alpha + key (the shape area used for visibility)."""

    def __init__(self, rgb_pm, alpha, key, ax, ay):
        self.rgb = rgb_pm.astype(np.float32)
        self.alpha = alpha.astype(np.float32)
        self.key = key.astype(np.float32)
        self.keysum = float(self.key.sum())
        self.ax, self.ay = ax, ay  # anchor: sprite(ax, ay) sits at (x, y_ground)
        self.h, self.w = alpha.shape


def unit_poly(shape):
    if shape == "circle":
        t = np.linspace(0, 2 * np.pi, 72, endpoint=False)
        return np.stack([np.cos(t), np.sin(t)], 1)
    if shape == "square":
        return np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]], float) * 0.9
    t = np.deg2rad([-90, 30, 150])
    p = np.stack([np.cos(t), np.sin(t)], 1) * 1.15
    p[:, 1] -= (p[:, 1].max() + p[:, 1].min()) / 2
    return p


def raster(polys, w, h, ss=4, blur=0.0):
    im = Image.new("L", (w * ss, h * ss), 0)
    dr = ImageDraw.Draw(im)
    for p, val in polys:
        dr.polygon([(float(x * ss), float(y * ss)) for x, y in p], fill=val)
    im = im.resize((w, h), Image.BOX)
    if blur > 0:
        im = im.filter(ImageFilter.GaussianBlur(blur))
    return np.asarray(im, np.float32) / 255.0


def make_object_sprite(rng, shape, rgb, size, style):
    """size: screen size (px) of the shape's larger extent."""
    rot = np.deg2rad(rng.uniform(-15, 15) if shape != "circle" else 0)
    squash = style["squash"]
    p = unit_poly(shape)
    c, s = math.cos(rot), math.sin(rot)
    p = p @ np.array([[c, s], [-s, c]])
    p[:, 1] *= squash
    ext = max(np.ptp(p[:, 0]), np.ptp(p[:, 1]) / max(squash, 1e-3))
    p = p * (size / ext)
    rim = style["rim"]
    post = style["post"]
    pad = 3
    minx, miny = p.min(0)
    maxx, maxy = p.max(0)
    sw = int(math.ceil(maxx - minx)) + 2 * pad
    sh_shape = int(math.ceil(maxy - miny)) + 2 * pad
    sh = sh_shape + int(math.ceil(rim)) + int(math.ceil(post))
    off = np.array([pad - minx, pad - miny])
    P = p + off
    outer = raster([(P, 255)], sw, sh)
    cen = P.mean(0)
    bw = style["border"]
    inner = raster([((P - cen) * (1 - bw) + cen, 255)], sw, sh) if bw > 0 else outer
    # colour with lighting gradient and paint texture
    yy, xx = np.mgrid[0:sh, 0:sw].astype(np.float32)
    g = 1 + style["grad"] * ((xx / sw - 0.5) * math.cos(style["gdir"]) + (yy / sh - 0.5) * math.sin(style["gdir"]))
    tex = 1 + 0.04 * (rng.random((sh, sw)).astype(np.float32) - 0.5)
    col = rgb[None, None, :] * (g * tex)[..., None]
    bcol = style["border_rgb"]
    col = col * inner[..., None] + bcol[None, None, :] * (outer - inner)[..., None]
    col = np.where(outer[..., None] > 1e-4, col / np.maximum(outer[..., None], 1e-4), 0)
    alpha = outer.copy()
    key = outer.copy()
    rgb_pm = col * outer[..., None]
    if rim > 0:  # token thickness: darker copy shifted down, drawn beneath
        r = int(round(rim))
        rim_a = np.zeros_like(outer)
        rim_a[r:] = outer[:-r]
        rim_a = np.maximum(rim_a - outer, 0)
        rgb_pm = rgb_pm + rim_a[..., None] * (rgb * 0.45)[None, None, :]
        alpha = np.clip(alpha + rim_a, 0, 1)
    if post > 0:  # sign post under the shape
        pw = max(2.0, size * 0.07)
        x0 = sw / 2 - pw / 2
        y0 = maxy + off[1] - 2
        postm = raster([(np.array([[x0, y0], [x0 + pw, y0], [x0 + pw, sh], [x0, sh]]), 255)], sw, sh)
        postm = np.maximum(postm - alpha, 0)
        pc = style["post_rgb"]
        shade = (0.8 + 0.4 * ((xx - x0) / pw).clip(0, 1))[..., None]
        rgb_pm = rgb_pm + postm[..., None] * pc[None, None, :] * shade
        alpha = np.clip(alpha + postm, 0, 1)
    ax = sw / 2.0
    ay = float(sh) if post > 0 else float(sh - pad)  # ground contact row inside the sprite
    return Sprite(rgb_pm, alpha, key, ax, ay)


def make_shadow(size, style, sdx, squash=0.22, blur=2.0):
    """Soft elliptical contact/cast shadow (alpha only)."""
    L = size * (0.9 + abs(sdx) * 0.8)
    w = int(L + 10)
    h = int(max(6, size * squash + 8))
    t = np.linspace(0, 2 * np.pi, 48)
    cx = w / 2
    cy = h / 2
    pts = np.stack([cx + np.cos(t) * L / 2, cy + np.sin(t) * size * squash / 2], 1)
    a = raster([(pts, 255)], w, h, blur=blur)
    return a, cx - sdx * size * 0.4, cy


def make_person_frames(rng, height, col):
    frames = []
    w = int(height * 0.45) + 6
    h = int(height) + 4
    for k in range(4):
        ph = k / 4 * 2 * np.pi
        polys = []
        cx = w / 2
        hr = height * 0.085
        t = np.linspace(0, 2 * np.pi, 40)
        bob = 1.0 * math.sin(2 * ph)
        hy = 2 + hr + bob
        polys.append((np.stack([cx + np.cos(t) * hr, hy + np.sin(t) * hr * 1.1], 1), 255))
        by = hy + hr * 1.1 + height * 0.27
        polys.append((np.stack([cx + np.cos(t) * height * 0.13, by + np.sin(t) * height * 0.25], 1), 255))
        ly = by + height * 0.15
        for sgn in (-1, 1):
            sw_ = math.sin(ph) * sgn * height * 0.12
            fx = cx + sw_
            polys.append((np.array([[cx - 0.04 * height, ly], [cx + 0.04 * height, ly],
                                    [fx + 0.03 * height, h - 2], [fx - 0.05 * height, h - 2]]), 255))
        a = raster(polys, w, h, blur=max(0.6, height / 120))
        yy = np.mgrid[0:h, 0:w][0].astype(np.float32)
        c = col[None, None, :] * (0.9 + 0.2 * (yy / h))[..., None]
        frames.append(Sprite(c * a[..., None], a, a, w / 2, h - 2))
    return frames


def make_pillar(rng, width, ybase, col):
    w = int(width) + 2
    h = int(ybase) + 1
    xx = np.mgrid[0:h, 0:w][1].astype(np.float32)
    u = (xx + 0.5) / w * 2 - 1
    shade = 0.55 + 0.5 * np.sqrt(np.clip(1 - u * u, 0, 1)) + 0.1 * u
    a = np.ones((h, w), np.float32)
    a[:, 0] = a[:, -1] = 0.5
    c = col[None, None, :] * shade[..., None]
    return Sprite(c * a[..., None], a, a, w / 2, h)


# ----------------------------------------------------------------------------
# layers (anything drawn with alpha) and their motion
# ----------------------------------------------------------------------------

class Appearance:
    def __init__(self, t_in, t_out, yb, rest_x, sprite, shadow, enter, exit_, side_in, side_out,
                 speed, W, sway=0.0, sway_f=0.3):
        self.t_in, self.t_out, self.yb, self.rest_x = t_in, t_out, yb, rest_x
        self.sprite, self.shadow = sprite, shadow
        self.enter, self.exit, self.side_in, self.side_out = enter, exit_, side_in, side_out
        self.speed, self.W, self.sway, self.sway_f = speed, W, sway, sway_f
        w = sprite.w
        self.x_off_in = -w / 2 - 2 if side_in < 0 else W + w / 2 + 2
        self.x_off_out = -w / 2 - 2 if side_out < 0 else W + w / 2 + 2
        self.t_enter = abs(rest_x - self.x_off_in) / speed if enter == "slide" else 0.0
        self.t_exit = abs(self.x_off_out - rest_x) / speed if exit_ == "slide" else 0.0

    def x_at(self, t):
        if t < self.t_in or t >= self.t_out:
            return None
        if self.enter == "slide" and t < self.t_in + self.t_enter:
            f = (t - self.t_in) / max(self.t_enter, 1e-6)
            return self.x_off_in + (self.rest_x - self.x_off_in) * f
        if self.exit == "slide" and t >= self.t_out - self.t_exit:
            f = (t - (self.t_out - self.t_exit)) / max(self.t_exit, 1e-6)
            return self.rest_x + (self.x_off_out - self.rest_x) * f
        return self.rest_x + self.sway * math.sin(2 * math.pi * self.sway_f * t)

    def rest_box(self, margin=0):
        s = self.sprite
        x0 = self.rest_x - s.ax - abs(self.sway)
        y0 = self.yb - s.ay
        return (x0 - margin, y0 - margin, x0 + s.w + 2 * abs(self.sway) + margin, y0 + s.h + margin)


class ObjLayer:
    def __init__(self, name, colour, shape, apps):
        self.name, self.colour, self.shape, self.apps = name, colour, shape, apps

    def get(self, t):
        for ap in self.apps:
            x = ap.x_at(t)
            if x is not None:
                s = ap.sprite
                return (int(round(x - s.ax)), int(round(ap.yb - s.ay)), s, ap.yb, ap, x)
        return None


class Walker:
    """Occluder crossing the frame horizontally: person-like blob or pillar."""

    def __init__(self, frames, yb, t0, x0, x1, speed, stride, shadow):
        self.frames, self.yb, self.t0, self.x0, self.x1 = frames, yb, t0, x0, x1
        self.speed, self.stride, self.shadow = speed, stride, shadow
        self.t1 = t0 + abs(x1 - x0) / speed

    def get(self, t):
        if t < self.t0 or t >= self.t1:
            return None
        x = self.x0 + math.copysign(self.speed, self.x1 - self.x0) * (t - self.t0)
        k = int(abs(x - self.x0) / self.stride) % len(self.frames)
        s = self.frames[k]
        return (int(round(x - s.ax)), int(round(self.yb - s.ay)), s, self.yb, self, x)


def paste(frame, x0, y0, s):
    H, W = frame.shape[:2]
    fx0, fy0 = max(x0, 0), max(y0, 0)
    fx1, fy1 = min(x0 + s.w, W), min(y0 + s.h, H)
    if fx0 >= fx1 or fy0 >= fy1:
        return
    sx0, sy0 = fx0 - x0, fy0 - y0
    a = s.alpha[sy0:sy0 + fy1 - fy0, sx0:sx0 + fx1 - fx0, None]
    c = s.rgb[sy0:sy0 + fy1 - fy0, sx0:sx0 + fx1 - fx0]
    reg = frame[fy0:fy1, fx0:fx1]
    reg *= (1 - a)
    reg += c


def darken(frame, x0, y0, a, strength):
    H, W = frame.shape[:2]
    h, w = a.shape
    fx0, fy0 = max(x0, 0), max(y0, 0)
    fx1, fy1 = min(x0 + w, W), min(y0 + h, H)
    if fx0 >= fx1 or fy0 >= fy1:
        return
    sub = a[fy0 - y0:fy1 - y0, fx0 - x0:fx1 - x0, None]
    frame[fy0:fy1, fx0:fx1] *= (1 - strength * sub)


def active(layers, t):
    out = []
    for i, L in enumerate(layers):
        g = L.get(t)
        if g is not None:
            out.append((g[3], i, L, g))
    out.sort(key=lambda r: (r[0], r[1]))
    return out


def visible_fraction(layers, idx, t, W, H):
    act = active(layers, t)
    pos = [k for k, r in enumerate(act) if r[1] == idx]
    if not pos:
        return 0.0
    k = pos[0]
    x0, y0, s = act[k][3][:3]
    fx0, fy0 = max(x0, 0), max(y0, 0)
    fx1, fy1 = min(x0 + s.w, W), min(y0 + s.h, H)
    if fx0 >= fx1 or fy0 >= fy1:
        return 0.0
    key = s.key[fy0 - y0:fy1 - y0, fx0 - x0:fx1 - x0]
    clear = np.ones_like(key)
    for r in act[k + 1:]:
        ox0, oy0, os_ = r[3][:3]
        ix0, iy0 = max(fx0, ox0), max(fy0, oy0)
        ix1, iy1 = min(fx1, ox0 + os_.w), min(fy1, oy0 + os_.h)
        if ix0 >= ix1 or iy0 >= iy1:
            continue
        clear[iy0 - fy0:iy1 - fy0, ix0 - fx0:ix1 - fx0] *= 1 - os_.alpha[iy0 - oy0:iy1 - oy0, ix0 - ox0:ix1 - ox0]
    return float((key * clear).sum() / s.keysum)


def intervals(mask, fps):
    ev = []
    on = None
    for i, m in enumerate(mask):
        if m and on is None:
            on = i
        if not m and on is not None:
            ev.append([round(on / fps, 3), round(i / fps, 3)])
            on = None
    if on is not None:
        ev.append([round(on / fps, 3), round(len(mask) / fps, 3)])
    return ev


# ----------------------------------------------------------------------------
# scene construction
# ----------------------------------------------------------------------------

class Scene:
    pass


def build_scene(rng, cfg, first, W, H, fps, target_cs):
    dur = cfg["dur"]
    sc = Scene()
    sc.W, sc.H, sc.fps, sc.dur = W, H, fps, dur
    indoor = rng.random() < 0.5
    kind = rng.choice(["tiles", "concrete"] if indoor else ["asphalt", "concrete", "dirt", "tiles"])
    yh = rng.uniform(-0.35, 0.3) * H
    ybd = max(yh + 0.06 * H, rng.uniform(0.18, 0.45) * H)
    geo = dict(yh=yh, ybd=ybd, f=W * rng.uniform(0.7, 1.1), yaw=rng.uniform(-0.5, 0.5),
               kind=kind, indoor=indoor, fogz=rng.uniform(8, 30))
    sc.geo = geo
    near = 0.97 * H
    s_w = rng.uniform(0.24, 0.31) * H / (near - yh)
    min_size = max(0.06 * H, s_w * (ybd + 0.05 * H - yh))
    max_size = s_w * (near - yh)
    sdx = rng.uniform(-1, 1)  # shadow direction
    sc.shadow_strength = rng.uniform(0.25, 0.5)
    sc.sdx = sdx

    def depth_for(size):
        return yh + size / s_w

    def new_style(standing, size):
        bw = rng.uniform(0.08, 0.16) if rng.random() < 0.35 else 0.0
        return dict(
            squash=1.0 if standing else rng.uniform(0.6, 0.9),
            rim=0 if standing else max(1.0, size * rng.uniform(0.03, 0.07)),
            post=size * rng.uniform(0.35, 0.8) if standing else 0,
            border=bw,
            border_rgb=np.full(3, rng.uniform(0.08, 0.25), np.float32),
            grad=rng.uniform(0.05, 0.3), gdir=rng.uniform(0, 2 * np.pi),
            post_rgb=grey(rng, 0.3, 0.5),
        )

    def make_app(colour, shape, t_in, t_out, enter, exit_, size=None, standing=None, rgb=None,
                 rest_x=None, side_in=None, side_out=None, speed=None):
        if size is None:
            size = rng.uniform(min_size, max_size)
        if standing is None:
            standing = rng.random() < 0.45
        if rgb is None:
            rgb = rand_rgb(rng, colour)
        st = new_style(standing, size)
        spr = make_object_sprite(rng, shape, rgb, size, st)
        yb = depth_for(size)
        # keep standing signs inside the frame vertically
        if yb - spr.ay < 1:
            yb = spr.ay + 1
        if standing:
            sha = make_shadow(size, st, sdx)
        else:
            sha = make_shadow(size * 0.9, st, sdx * 0.1, squash=0.5 * st["squash"], blur=1.5)
        if rest_x is None:
            rest_x = rng.uniform(spr.w / 2 + 2, W - spr.w / 2 - 2)
        if side_in is None:
            side_in = -1 if rest_x < W / 2 else 1
            if rng.random() < 0.2:
                side_in = -side_in
        if side_out is None:
            side_out = -1 if rest_x < W / 2 else 1
            if rng.random() < 0.2:
                side_out = -side_out
        if speed is None:
            speed = size * rng.uniform(0.6, 2.5)
        sway = rng.uniform(0.5, 2.0) if standing and rng.random() < 0.3 else 0.0
        return Appearance(t_in, t_out, yb, rest_x, spr, sha, enter, exit_, side_in, side_out,
                          speed, W, sway=sway, sway_f=rng.uniform(0.1, 0.5))

    layers = []
    placed = []  # (box, t_in, t_out)

    def ok_place(ap, margin=4):
        b = ap.rest_box(margin)
        if b[0] < 0 or b[2] > W or b[1] < 0 or b[3] > H:
            return False
        for pb, ti, to in placed:
            if ap.t_in < to and ti < ap.t_out:
                if b[0] < pb[2] and pb[0] < b[2] and b[1] < pb[3] and pb[1] < b[3]:
                    return False
        return True

    def place(maker, tries=60):
        for _ in range(tries):
            ap = maker()
            if ok_place(ap):
                placed.append((ap.rest_box(4), ap.t_in, ap.t_out))
                return ap
        return None

    # ---------------- target ----------------
    tcol, tshp = target_cs
    lo, hi = cfg["vis"]
    t_apps = []
    t_rgb = rand_rgb(rng, tcol)
    t_standing = rng.random() < 0.45

    def mode_pair(at_start):
        enter = "place" if at_start else ("slide" if rng.random() < 0.5 else "place")
        exit_ = "slide" if rng.random() < 0.5 else "place"
        return enter, exit_

    def target_app(on, D, at_start):
        enter, exit_ = mode_pair(at_start)
        size = rng.uniform(min_size, max_size)

        def mk():
            ap = make_app(tcol, tshp, 0.0, 1.0, enter, exit_, size=size, standing=t_standing, rgb=t_rgb,
                          speed=size * rng.uniform(1.5, 4.0))
            # centre crosses the frame edge (about half inside) a_in after t_in / a_out before t_out
            a_in = (ap.sprite.w / 2 + 2) / ap.speed if enter == "slide" else 0.0
            a_out = (ap.sprite.w / 2 + 2) / ap.speed if exit_ == "slide" else 0.0
            ap.t_in = 0.0 if at_start else on - a_in
            ap.t_out = on + D + a_out
            return ap
        return place(mk)

    if cfg["mode"] == "once":
        D = rng.uniform(lo + 0.5, hi - 0.5)
        on = 0.0 if first else rng.uniform(1.0, dur - D - 1.5)
        ap = target_app(on, D, first)
        if ap is None:
            return None
        t_apps.append(ap)
    else:
        D1 = rng.uniform(lo + 0.5, hi - 0.5)
        D2 = rng.uniform(lo + 0.5, hi - 0.5)
        on1 = 0.0 if first else rng.uniform(1.0, 12.0)
        gap = rng.uniform(8.0, dur - on1 - D1 - D2 - 2.0)
        on2 = on1 + D1 + gap
        for on, D, st in ((on1, D1, first), (on2, D2, False)):
            ap = target_app(on, D, st)
            if ap is None:
                return None
            t_apps.append(ap)
    target = ObjLayer("target", tcol, tshp, t_apps)
    layers.append(target)

    # ---------------- distractors ----------------
    nd = int(rng.integers(2, 6))
    combos = [(c, s) for c in COLOURS for s in SHAPES if (c, s) != (tcol, tshp)]
    if cfg["lookalike"]:
        share = [(c, s) for c, s in combos if c == tcol or s == tshp]
        other = [(c, s) for c, s in combos if not (c == tcol or s == tshp)]
    else:
        share = []
        other = [(c, s) for c, s in combos if c != tcol and s != tshp]
    look_idx = []
    for j in range(nd):
        if cfg["lookalike"] and (j == 0 or (j == 1 and rng.random() < 0.4)):
            c, s = share[rng.integers(len(share))]
            role = "parked"
            look_idx.append(len(layers))
        else:
            pool = other if (not cfg["lookalike"] or rng.random() < 0.7) else share
            c, s = pool[rng.integers(len(pool))]
            role = rng.choice(["parked", "visitor", "visitor", "crosser"])
        apps = []
        if role == "parked":
            ap = place(lambda: make_app(c, s, 0.0, dur + 1, "place", "place"))
            if ap is None:
                return None
            apps.append(ap)
        elif role == "visitor":
            nv = int(rng.integers(1, 3 if dur <= 30 else 5))
            for _ in range(nv):
                Dv = rng.uniform(3, min(20, dur * 0.5)) * (1 if dur <= 30 else rng.uniform(1, 3))
                t0 = rng.uniform(-0.2 * Dv, dur - 1)
                ap = place(lambda: make_app(c, s, max(0.0, t0), min(dur + 1, t0 + Dv),
                                            rng.choice(["place", "slide"]), rng.choice(["place", "slide"])))
                if ap is not None:
                    apps.append(ap)
        else:  # crosser: slides across the whole frame once or twice
            for _ in range(int(rng.integers(1, 3))):
                size = rng.uniform(min_size, max_size)
                side = rng.choice([-1, 1])
                t0 = rng.uniform(0, dur - 4)
                ap = make_app(c, s, t0, t0 + 100, "slide", "slide", size=size, side_in=side,
                              side_out=-side, rest_x=W / 2, speed=size * rng.uniform(1.0, 3.0))
                ap.t_out = ap.t_in + ap.t_enter + ap.t_exit
                apps.append(ap)
        if apps:
            layers.append(ObjLayer("d%d" % j, c, s, apps))
    sc.look_idx = look_idx

    # ---------------- occluders ----------------
    n_occ = rng.poisson(dur / 15.0)
    for _ in range(n_occ):
        t0 = rng.uniform(0, dur - 2)
        if rng.random() < 0.65:  # person-like dark blob
            hgt_max = min(0.8 * H, 3.5 * max_size)
            hgt = rng.uniform(max(0.25 * H, 3.5 * min_size), max(0.26 * H, hgt_max))
            yb = min(near + 0.02 * H, yh + hgt / 3.5 / s_w)
            if yb - hgt < -0.1 * H:
                yb = hgt - 0.1 * H
            col = grey(rng, 0.08, 0.22, 0.15)
            frames = make_person_frames(rng, hgt, col)
            speed = hgt * rng.uniform(0.25, 0.6)
            stride = hgt * 0.12
            sh = make_shadow(hgt * 0.35, None, sdx, squash=0.25, blur=2.5)
        else:  # moving grey pillar / column
            size = rng.uniform(min_size, max_size)
            yb = yh + size / s_w
            width = size * rng.uniform(0.4, 0.9)
            col = grey(rng, 0.4, 0.6)
            frames = [make_pillar(rng, width, yb, col)]
            speed = size * rng.uniform(0.3, 1.2)
            stride = 1e9
            sh = make_shadow(width * 1.5, None, sdx, squash=0.3, blur=2.5)
        w = frames[0].w
        side = rng.choice([-1, 1])
        x0 = -w / 2 - 2 if side < 0 else W + w / 2 + 2
        x1 = W + w / 2 + 2 if side < 0 else -w / 2 - 2
        layers.append(Walker(frames, yb, t0, x0, x1, speed, stride, sh))
    sc.layers = layers
    return sc


def measure(sc, idx):
    n = int(round(sc.dur * sc.fps))
    return np.array([visible_fraction(sc.layers, idx, i / sc.fps, sc.W, sc.H) for i in range(n)])


def validate(sc, cfg, first):
    fps = sc.fps
    vis = measure(sc, 0) >= 0.5
    ev = intervals(vis, fps)
    lo, hi = cfg["vis"]
    want = 1 if cfg["mode"] == "once" else 2
    if len(ev) != want:
        return None
    for a, b in ev:
        if not (lo <= b - a <= hi):
            return None
        if b > sc.dur - 0.5:
            return None
    if first and ev[0][0] != 0.0:
        return None
    if not first and ev[0][0] < 0.5:
        return None
    for li in sc.look_idx:
        if not (measure(sc, li) >= 0.5).all():
            return None
    return ev


# ----------------------------------------------------------------------------
# rendering
# ----------------------------------------------------------------------------

def render(sc, rng, path):
    W, H, fps, dur = sc.W, sc.H, sc.fps, sc.dur
    n = int(round(dur * fps))
    bg = make_background(rng, W, H, sc.geo)
    # camera post-processing choices
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    r2 = ((xx - W / 2) / (W / 2)) ** 2 + ((yy - H / 2) / (H / 2)) ** 2
    vig_k = rng.uniform(0.1, 0.45)
    tint = (1 + rng.uniform(-0.06, 0.06, 3)).astype(np.float32)
    gain = rng.uniform(0.85, 1.05)
    vig = ((1 - vig_k * r2 / 2)[..., None] * tint[None, None, :] * gain).astype(np.float32)
    nsig = rng.uniform(0.005, 0.03)
    noise_bank = [(rng.standard_normal((H, W, 1)) * nsig).astype(np.float32) for _ in range(6)]
    light = rng.choice(["steady", "clouds", "flicker", "switch"], p=[0.25, 0.3, 0.2, 0.25])
    t_sw = rng.uniform(0.25, 0.75) * dur
    sw_dir = rng.choice([-1, 1])
    lo_l = rng.uniform(0.62, 0.8)
    ph = rng.uniform(0, 100, 3)
    jpeg_q = int(rng.integers(12, 35)) if rng.random() < 0.45 else None
    blur = rng.random() < 0.35
    overlay = rng.random() < 0.6
    jitter = rng.random() < 0.2
    cam_id = int(rng.integers(1, 16))
    font = ImageFont.load_default()

    def lightlvl(t):
        if light == "steady":
            return 1.0
        if light == "clouds":
            return 1 + 0.08 * math.sin(t * 0.35 + ph[0]) + 0.05 * math.sin(t * 1.1 + ph[1])
        if light == "flicker":
            return 1 + 0.03 * math.sin(2 * math.pi * 2.7 * t) + (-0.12 if rng.random() < 0.04 else 0)
        on = (t >= t_sw) if sw_dir > 0 else (t < t_sw)
        if abs(t - t_sw) < 0.25 and rng.random() < 0.5:
            on = not on
        return 1.0 if on else lo_l

    out = av.open(path, "w")
    st = out.add_stream("libx264", rate=fps)
    st.width, st.height = W, H
    st.pix_fmt = "yuv420p"
    st.options = {"crf": str(int(rng.integers(20, 28))), "preset": "veryfast", "threads": "1"}
    st.codec_context.thread_count = 1
    st.codec_context.time_base = Fraction(1, fps)
    ov_patch = None
    last_sec = -1
    for i in range(n):
        t = i / fps
        fr = bg.copy()
        act = active(sc.layers, t)
        for _, _, L, g in act:  # shadows first (on the ground)
            x0, y0, s, yb, obj, x = g
            sh = obj.shadow
            if sh is not None:
                a, cx, cy = sh
                darken(fr, int(round(x - cx)), int(round(yb - cy)), a, sc.shadow_strength)
        for _, _, L, g in act:
            paste(fr, g[0], g[1], g[2])
        fr *= vig
        lv = lightlvl(t)
        if lv != 1.0:
            fr *= lv
        fr += noise_bank[(i * 7) % len(noise_bank)]
        np.clip(fr, 0, 1, out=fr)
        img8 = (fr * 255 + 0.5).astype(np.uint8)
        if jitter and rng.random() < 0.3:
            img8 = np.roll(img8, int(rng.integers(-1, 2)), axis=1)
        if blur or jpeg_q or overlay:
            im = Image.fromarray(img8)
            if blur:
                im = im.resize((W // 2, H // 2), Image.BILINEAR).resize((W, H), Image.BILINEAR)
            if overlay:
                sec = int(t)
                if sec != last_sec:
                    hh, mm, ss_ = 9 + cam_id % 8, (cam_id * 7 + sec // 60) % 60, sec % 60
                    txt = "CAM%02d  2023-%02d-%02d %02d:%02d:%02d" % (cam_id, 1 + cam_id % 12, 1 + cam_id,
                                                                     hh, mm, ss_)
                    ov_patch = Image.new("RGB", (len(txt) * 6 + 8, 14), (20, 20, 20))
                    ImageDraw.Draw(ov_patch).text((4, 1), txt, fill=(215, 215, 215), font=font)
                    last_sec = sec
                im.paste(ov_patch, (4, 4))
            if jpeg_q:
                buf = io.BytesIO()
                im.save(buf, "JPEG", quality=jpeg_q)
                buf.seek(0)
                im = Image.open(buf).convert("RGB")
            img8 = np.asarray(im)
        vf = av.VideoFrame.from_ndarray(np.ascontiguousarray(img8), format="rgb24")
        vf.pts = i
        vf.time_base = Fraction(1, fps)
        for p in st.encode(vf):
            out.mux(p)
    for p in st.encode():
        out.mux(p)
    out.close()
    return dict(light=light, jpeg=jpeg_q, blur=blur, overlay=overlay)


# ----------------------------------------------------------------------------

def gen_set(name, cfg, outdir, only=None):
    d = os.path.join(outdir, name)
    os.makedirs(d, exist_ok=True)
    rng = np.random.default_rng(cfg["seed"])
    n = cfg["n"]
    firsts = np.array([True] * (n // 2) + [False] * (n - n // 2))
    rng.shuffle(firsts)
    meta = []
    for k in range(n):
        if only is not None and k not in only:
            continue
        crng = np.random.default_rng([cfg["seed"], k])
        W, H = RESOLUTIONS[crng.integers(len(RESOLUTIONS))]
        fps = int(crng.choice(cfg["fps"]))
        tcs = (COLOURS[crng.integers(len(COLOURS))], SHAPES[crng.integers(len(SHAPES))])
        first = bool(firsts[k])
        ev = None
        for attempt in range(300):
            srng = np.random.default_rng([cfg["seed"], k, attempt])
            sc = build_scene(srng, cfg, first, W, H, fps, tcs)
            if sc is None:
                continue
            ev = validate(sc, cfg, first)
            if ev is not None:
                break
        if ev is None:
            raise RuntimeError("could not build %s clip %d" % (name, k))
        nm = "%s_%02d" % (name, k)
        t0 = time.time()
        info = render(sc, np.random.default_rng([cfg["seed"], k, 999]), os.path.join(d, nm + ".mp4"))
        target = "a %s %s" % tcs
        with open(os.path.join(d, nm + ".json"), "w") as f:
            json.dump({"target": target, "events": ev}, f)
        print("%s %dx%d %dfps %s %s tries=%d %.1fs %s" % (nm, W, H, fps, target, ev, attempt + 1,
                                                          time.time() - t0, info), flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="/tmp/famd")
    ap.add_argument("--sets", default="easy,hard,long,twice")
    ap.add_argument("--clips", default=None, help="comma list of clip indices (debug)")
    a = ap.parse_args()
    for s in a.sets.split(","):
        gen_set(s, SETS[s], a.out, None if a.clips is None else [int(x) for x in a.clips.split(",")])


if __name__ == "__main__":
    main()

"""Light and camera augmentation of shapes-demo training frames (``--light-share``).

A camera does not see the generator's clean, fully lit pixels: light falls at dusk and
at night, lamps tint the scene, sensors add noise, lenses and low bitrates blur. A
model trained only on clean frames loses the colours it names as the light falls. The
augmentation draws, per frame chosen with probability ``share``:

* light: the frame multiplied by a factor in [0.2, 1.1] (night to slightly over-exposed);
* tint: each channel scaled by 1 ± up to 0.05 (white balance; more would change the
  colour a caption names);
* contrast: pulled towards the frame's mean by up to 20% (haze, flat light);
* noise: Gaussian, sigma up to 10 grey levels, then clipped and rounded to uint8;
* blur: in a third of them a 3×3 box blur (defocus, compression).

Labels are unchanged: a red circle at night is still a red circle. Everything is drawn
from the caller's generator, so a recipe stays reproducible.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

LIGHT = (0.2, 1.1)
TINT = 0.05
CONTRAST = 0.2
NOISE = 10.0
BLUR_SHARE = 1 / 3


def _uniform(n: int, lo: float, hi: float, gen: torch.Generator) -> torch.Tensor:
    return lo + (hi - lo) * torch.rand(n, generator=gen)


def photometric(pixels: torch.Tensor, share: float, gen: torch.Generator) -> torch.Tensor:
    """(B, 3, H, W) uint8 → the same batch with ``share`` of its frames re-lit (uint8)."""
    if share <= 0.0:
        return pixels
    b = pixels.shape[0]
    device = pixels.device
    pick = (torch.rand(b, generator=gen) < share).to(device).view(-1, 1, 1, 1)
    light = _uniform(b, *LIGHT, gen).view(-1, 1, 1, 1)
    tint = (1.0 + _uniform(3 * b, -TINT, TINT, gen)).view(b, 3, 1, 1)
    flat = _uniform(b, 0.0, CONTRAST, gen).view(-1, 1, 1, 1)
    sigma = _uniform(b, 0.0, NOISE, gen).view(-1, 1, 1, 1)
    blur = (torch.rand(b, generator=gen) < BLUR_SHARE).view(-1, 1, 1, 1)
    noise = torch.randn(pixels.shape, generator=gen)
    x = pixels.float()
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    x = mean + (1.0 - flat.to(device)) * (x - mean)
    x = x * (light * tint).to(device)
    soft = F.avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=False)
    x = torch.where(blur.to(device), soft, x)
    x = (x + sigma.to(device) * noise.to(device)).clamp(0, 255).round().to(torch.uint8)
    return torch.where(pick, x, pixels)

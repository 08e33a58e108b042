"""int8 inference for the CLIP vision tower on the CPU (dynamic quantisation).

``torch.ao.quantization.quantize_dynamic`` converts ``nn.Linear`` modules only, and
``nn.MultiheadAttention`` keeps its input projection as a bare parameter, so the
attention blocks are first rebuilt on ``nn.Linear`` (same weights, same output);
then every linear layer of the tower — attention projections and MLPs, nearly all of
its multiply-adds — runs with int8 weights and activations.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from open_clip.transformer import VisionTransformer


class LinearSelfAttention(torch.nn.Module):
    """A self-attention ``nn.MultiheadAttention`` rebuilt on ``nn.Linear`` projections.

    Same weights and result; the point is that dynamic quantisation only converts
    ``nn.Linear`` modules, and ``nn.MultiheadAttention`` keeps its input projection as
    a bare parameter. Called like the original (``attn(x, x, x, ...)[0]``).
    """

    def __init__(self, mha: torch.nn.MultiheadAttention) -> None:
        super().__init__()
        d = mha.embed_dim
        self.heads, self.batch_first = mha.num_heads, mha.batch_first
        self.in_proj = torch.nn.Linear(d, 3 * d)
        self.out_proj = torch.nn.Linear(d, d)
        with torch.no_grad():
            self.in_proj.weight.copy_(mha.in_proj_weight)
            self.in_proj.bias.copy_(mha.in_proj_bias)
            self.out_proj.weight.copy_(mha.out_proj.weight)
            self.out_proj.bias.copy_(mha.out_proj.bias)

    def forward(
        self, q: torch.Tensor, k: Any, v: Any, need_weights: bool = False, attn_mask: Any = None
    ) -> tuple[torch.Tensor, None]:
        x = q if self.batch_first else q.transpose(0, 1)
        b, n, d = x.shape
        qkv = self.in_proj(x).view(b, n, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        out = F.scaled_dot_product_attention(qkv[0], qkv[1], qkv[2], attn_mask=attn_mask)
        out = self.out_proj(out.transpose(1, 2).reshape(b, n, d))
        return (out if self.batch_first else out.transpose(0, 1)), None


def linear_attention(visual: VisionTransformer) -> None:
    """Swap every plain self-attention block of the vision tower for its nn.Linear twin."""
    for block in visual.transformer.resblocks:
        mha = getattr(block, "attn", None)
        if (
            isinstance(mha, torch.nn.MultiheadAttention)
            and mha._qkv_same_embed_dim
            and mha.in_proj_bias is not None
            and mha.bias_k is None
        ):
            block.attn = LinearSelfAttention(mha)


def quantize_vision_int8(visual: VisionTransformer) -> None:
    """Dynamic int8 for the vision tower's linear layers (MLPs and attention), in place."""
    import warnings

    linear_attention(visual)
    with warnings.catch_warnings():  # torch.ao eager quantisation announces its successor
        warnings.simplefilter("ignore")
        torch.ao.quantization.quantize_dynamic(  # type: ignore[no-untyped-call]
            visual, {torch.nn.Linear}, dtype=torch.qint8, inplace=True
        )

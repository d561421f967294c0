"""LAGA-Net's attention modules: channel attention (CAM) and spatial attention with relative positions (SAM-RPE).

Both are residual with a learned scalar `gamma` initialised to 0, so a fresh module is the identity and the
attention is blended in as training moves gamma away from 0.

SAMRPE follows the form of the LAGA author's public MBA-Net code (content attention plus height and width
relative-position terms whose logits are used as they are, without a softmax, each batch-normalised), written
with einsum for any (H, W) instead of the square-only re-indexing of that code. The relative tables are
initialised from N(0, 1) as in that code.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

__all__ = ["CAM", "SAMRPE"]


class CAM(nn.Module):
    """Channel attention (DANet style, no learned projections).

    energy = X X^T over channels (B, C, C); attention = softmax(rowmax(energy) - energy);
    out = gamma * (attention @ X) + x. Shapes: (B, C, H, W) -> (B, C, H, W). The attention is computed in
    float32 also under fp16/bf16 autocast (the affinity overflows float16 on real feature maps); the output
    has the input's dtype.
    """

    def __init__(self) -> None:
        super().__init__()
        self.gamma = nn.Parameter(torch.zeros(1))

    def forward(self, x: Tensor) -> Tensor:
        # The affinity sums N = H*W products of post-ReLU activations: on real crops it exceeds float16's 65504
        # (and loses the softmax's resolution in bfloat16), so under autocast it is computed in float32.
        with torch.autocast(x.device.type, enabled=False):
            flat = x.flatten(2)  # (B, C, N)
            if flat.dtype in (torch.float16, torch.bfloat16):
                flat = flat.float()
            energy = flat @ flat.transpose(1, 2)  # (B, C, C)
            attention = torch.softmax(energy.amax(dim=-1, keepdim=True) - energy, dim=-1)
            out = (attention @ flat).reshape(x.shape)
        return (self.gamma * out).to(x.dtype) + x


def _conv_bn_relu(in_channels: int, out_channels: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel_size=1),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
    )


class SAMRPE(nn.Module):
    """Spatial self-attention with relative positional encodings, for one feature-map size.

    Shapes: x (B, C, H, W) -> (B, C, H, W), with (H, W) == `map_size` (else ValueError; checked with or
    without relative positions, so every ablation accepts the same inputs).
    q, k = 1x1 conv + BN + ReLU to C/8 channels; v = the same to C channels.
    content[b, :, p] = sum_p' softmax_p'(<q[b, :, p], k[b, :, p']>) v[b, :, p']   (p = positions (i, j)).
    With `relative_positions`, learned tables rel_h (2H-1, C/8), rel_w (2W-1, C/8) act as implicit keys:
      logits_h[b, i, j, i'] = <q[b, :, i, j], rel_h[i - i' + H - 1]>
      out_h[b, c, i, j] = sum_i' logits_h[b, i, j, i'] v[b, c, i', j]
      logits_w[b, i, j, j'] = <q[b, :, i, j], rel_w[j - j' + W - 1]>
      out_w[b, c, i, j] = sum_j' logits_w[b, i, j, j'] v[b, c, i, j']
    out = gamma * (content + BN(out_h) + BN(out_w)) + x.
    """

    def __init__(self, *, channels: int, map_size: Sequence[int], relative_positions: bool = True) -> None:
        super().__init__()
        if channels < 8 or channels % 8:
            raise ValueError(f"channels: must be a positive multiple of 8, got {channels}")
        if len(map_size) != 2 or min(map_size) < 1:
            raise ValueError(f"map_size: expected (H, W) with H, W >= 1, got {tuple(map_size)}")
        self.map_size = (int(map_size[0]), int(map_size[1]))
        self.relative_positions = relative_positions
        key_channels = channels // 8
        self.query = _conv_bn_relu(channels, key_channels)
        self.key = _conv_bn_relu(channels, key_channels)
        self.value = _conv_bn_relu(channels, channels)
        self.gamma = nn.Parameter(torch.zeros(1))
        if relative_positions:
            height, width = self.map_size
            self.rel_h = nn.Parameter(torch.randn(2 * height - 1, key_channels))
            self.rel_w = nn.Parameter(torch.randn(2 * width - 1, key_channels))
            self.bn_h = nn.BatchNorm2d(channels)
            self.bn_w = nn.BatchNorm2d(channels)
            self.register_buffer("index_h", _relative_index(height), persistent=False)
            self.register_buffer("index_w", _relative_index(width), persistent=False)

    def forward(self, x: Tensor) -> Tensor:
        if tuple(x.shape[-2:]) != self.map_size:
            raise ValueError(
                f"SAMRPE was built for {self.map_size[0]}x{self.map_size[1]} feature maps, "
                f"got {x.shape[-2]}x{x.shape[-1]}"
            )
        q, k, v = self.query(x), self.key(x), self.value(x)
        attention = torch.softmax(torch.einsum("bdn,bdm->bnm", q.flatten(2), k.flatten(2)), dim=-1)
        out = torch.einsum("bnm,bcm->bcn", attention, v.flatten(2)).reshape_as(x)
        if self.relative_positions:
            keys_h = self.rel_h[self.index_h]  # (H, H, C/8): keys_h[i, i'] = rel_h[i - i' + H - 1]
            keys_w = self.rel_w[self.index_w]  # (W, W, C/8)
            logits_h = torch.einsum("bdij,iud->biju", q, keys_h)
            logits_w = torch.einsum("bdij,jud->biju", q, keys_w)
            out = out + self.bn_h(torch.einsum("biju,bcuj->bcij", logits_h, v))
            out = out + self.bn_w(torch.einsum("biju,bciu->bcij", logits_w, v))
        return self.gamma * out + x


def _relative_index(length: int) -> Tensor:
    """(length, length) long tensor: [i, i'] = i - i' + length - 1, an index into a (2*length-1)-row table."""
    positions = torch.arange(length)
    return positions[:, None] - positions[None, :] + length - 1

"""Light spatio-temporal transformer lifter (MotionAGFormer-XS / KTPFormer style, small dims).

Tokens are (frame, joint) pairs: each joint's normalised 2D (root-relative, RMS-scaled) and
its confidence, embedded to `dim` channels, plus a per-frame embedding of the root's ray
(where the person is in the field of view) and learned joint and frame position embeddings.
A block alternates
  * spatial attention over the J joints of each frame, with a learned bias initialised from
    the skeleton's graph distance (the kinematic prior of KTPFormer, as an attention bias),
  * temporal attention over the T frames of each joint,
  * an MLP,
each pre-norm and residual. Optional token pruning (HoT style): after `prune_after` blocks the
frames other than the output frame are merged into T // prune_stride representative tokens
(average of consecutive frames), so the remaining blocks attend over far fewer frames; the
output frame's token is always kept (merging, not dropping: every frame still counts).
Only one output frame is needed, so nothing is recovered.

Input (B, T, F) features of normalization.lifter_features (F = 3*J + 2); output (B, J, 3)
root-relative metres of the last (causal) or centre frame, camera optical frame. Causality
comes from the window (it ends at the output frame), so no attention mask is needed.
Attention is written with plain matmuls so that the ONNX export is simple and fast.
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn

from ..layouts import H36M17

if TYPE_CHECKING:
    from .model import LifterConfig


def graph_distance(num_joints: int, bones: np.ndarray) -> np.ndarray:
    """(J, J) number of bones between joints (Floyd-Warshall on the skeleton tree)."""
    dist = np.full((num_joints, num_joints), float(num_joints))
    np.fill_diagonal(dist, 0.0)
    dist[bones[:, 0], bones[:, 1]] = dist[bones[:, 1], bones[:, 0]] = 1.0
    for k in range(num_joints):
        dist = np.minimum(dist, dist[:, k:k + 1] + dist[k:k + 1, :])
    return dist


class Attention(nn.Module):
    """Multi-head self-attention over the second-to-last axis of (N, L, d), optional (L, L)
    additive logit bias shared by all heads."""

    def __init__(self, dim: int, heads: int, bias: torch.Tensor | None = None) -> None:
        super().__init__()
        if dim % heads:
            raise ValueError(f"dim {dim} is not divisible by heads {heads}")
        self.heads, self.scale = heads, 1.0 / math.sqrt(dim // heads)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.bias = None if bias is None else nn.Parameter(bias.clone())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, length, d = x.shape
        qkv = self.qkv(x).reshape(n, length, 3, self.heads, d // self.heads)
        qkv = qkv.permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]  # each (N, heads, L, dh)
        logits = (q * self.scale) @ k.transpose(-1, -2)
        if self.bias is not None:
            logits = logits + self.bias
        out = logits.softmax(-1) @ v  # (N, heads, L, dh)
        return self.proj(out.transpose(1, 2).reshape(n, length, d))


class SpatioTemporalBlock(nn.Module):
    """Spatial attention (joints) -> temporal attention (frames) -> MLP, pre-norm residual."""

    def __init__(self, dim: int, heads: int, mlp_ratio: float, dropout: float,
                 spatial_bias: torch.Tensor) -> None:
        super().__init__()
        self.norm_s, self.norm_t, self.norm_m = (nn.LayerNorm(dim) for _ in range(3))
        self.spatial = Attention(dim, heads, spatial_bias)
        self.temporal = Attention(dim, heads)
        hidden = int(dim * mlp_ratio)
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Dropout(dropout),
                                 nn.Linear(hidden, dim))
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, T, J, d) -> (B, T, J, d)."""
        b, t, j, d = x.shape
        x = x + self.drop(self.spatial(self.norm_s(x).reshape(b * t, j, d)).reshape(b, t, j, d))
        xt = self.norm_t(x).transpose(1, 2).reshape(b * j, t, d)
        x = x + self.drop(self.temporal(xt).reshape(b, j, t, d).transpose(1, 2))
        return x + self.drop(self.mlp(self.norm_m(x)))


class SpatioTemporalLifter(nn.Module):
    """Spatio-temporal transformer lifter; config: LifterConfig with architecture 'stformer'
    (dim, depth, heads, mlp_ratio, prune_stride, prune_after)."""

    def __init__(self, config: LifterConfig) -> None:
        super().__init__()
        self.config = config
        j, d, t = config.num_joints, config.dim, config.window
        self.embed = nn.Linear(3, d)
        self.root_embed = nn.Linear(2, d)
        self.joint_pos = nn.Parameter(torch.zeros(1, 1, j, d))
        self.time_pos = nn.Parameter(torch.zeros(1, t, 1, d))
        nn.init.trunc_normal_(self.joint_pos, std=0.02)
        nn.init.trunc_normal_(self.time_pos, std=0.02)
        if j == H36M17.num_joints:
            hops = torch.tensor(graph_distance(j, H36M17.bones_array), dtype=torch.float32)
            prior = -0.5 * hops  # near joints attend to each other first; learned from there
        else:
            prior = torch.zeros(j, j)
        self.blocks = nn.ModuleList(
            SpatioTemporalBlock(d, config.heads, config.mlp_ratio, config.dropout, prior)
            for _ in range(config.depth))
        self.norm = nn.LayerNorm(d)
        self.head = nn.Linear(d, 3)
        self.out_index = t - 1 if config.causal else t // 2
        others = t - 1
        groups = max(1, others // max(config.prune_stride, 1))
        merge = torch.zeros(groups, max(others, 1))
        if others:
            merge[torch.arange(others) * groups // others, torch.arange(others)] = 1.0
            merge /= merge.sum(1, keepdim=True)
        self.register_buffer("merge", merge, persistent=False)

    @property
    def receptive_field(self) -> int:
        return self.config.window

    def _prune(self, x: torch.Tensor) -> torch.Tensor:
        """Keep the output frame's tokens, merge the other T - 1 frames into
        G = max(1, (T - 1) // prune_stride) groups of consecutive frames (mean; every frame
        counts): (B, T, J, d) -> (B, G + 1, J, d), the output frame last."""
        i = self.out_index
        others = torch.cat([x[:, :i], x[:, i + 1:]], 1)
        b, n, j, d = others.shape
        merged = (self.merge @ others.reshape(b, n, j * d)).reshape(b, -1, j, d)
        return torch.cat([merged, x[:, i:i + 1]], 1)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """(B, T, F) -> (B, J, 3) root-relative metres of the output frame."""
        c = self.config
        if not torch.jit.is_tracing() and features.shape[1] != c.window:
            raise ValueError(f"expected a window of {c.window} frames, got {features.shape[1]}")
        b, t, _ = features.shape
        j = c.num_joints
        rel = features[..., :2 * j].reshape(b, t, j, 2)
        tokens = torch.cat([rel, features[..., 2 * j:3 * j, None]], -1)
        x = self.embed(tokens) + self.root_embed(features[..., None, 3 * j:]) \
            + self.joint_pos + self.time_pos
        out_index = self.out_index
        for k, block in enumerate(self.blocks):
            if c.prune_stride > 1 and k == c.prune_after and c.window > 1:
                x = self._prune(x)
                out_index = -1
            x = block(x)
        y = self.head(self.norm(x[:, out_index]))  # (B, J, 3)
        return y - y[:, :1]

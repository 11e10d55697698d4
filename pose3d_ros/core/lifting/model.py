"""Temporal 2D-to-3D lifter: a dilated temporal convolution network (VideoPose3D-style).

Why this design (see docs/lifter.md): on a robot CPU, a 1D convolution stack with dilations
3^i covers T = 3^n frames with n blocks, costs O(n) matrix products per output frame and exports
to ONNX as plain Conv1d/BatchNorm/ReLU, which onnxruntime runs fast everywhere. Transformers of
the recent literature (MotionAGFormer, KTPFormer, HoT) are more accurate on Human3.6M but cost
attention over T x J tokens per frame; with the tiny self-supervised data here their extra
capacity would not be used.

Input: (B, T, F) features from normalization.lifter_features (F = 3*J + 2).
Output: (B, J, 3) root-relative 3D of ONE frame in metres, camera optical frame (x right,
y down, z forward): the centre frame of the window (causal=False) or the last frame
(causal=True, no look-ahead: zero added latency).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

RECEPTIVE_FIELDS = {27: 3, 81: 4, 243: 5}
ARCHITECTURES = ("tcn", "stformer")


@dataclass(frozen=True)
class LifterConfig:
    """Architecture of a lifter.

    architecture: "tcn" (TemporalLifter: window T in {27, 81, 243}, channels = conv width)
    or "stformer" (transformer.SpatioTemporalLifter: any T >= 1; dim, depth, heads,
    mlp_ratio; prune_stride > 1 merges the non-output frames in groups of that many after
    prune_after blocks).
    """

    num_joints: int = 17
    window: int = 27
    causal: bool = False
    channels: int = 128
    dropout: float = 0.1
    architecture: str = "tcn"
    dim: int = 32
    depth: int = 3
    heads: int = 4
    mlp_ratio: float = 2.0
    prune_stride: int = 0
    prune_after: int = 1

    def __post_init__(self) -> None:
        if self.architecture not in ARCHITECTURES:
            raise ValueError(f"architecture must be one of {ARCHITECTURES}, "
                             f"got {self.architecture!r}")
        # (a review: channels 0 or heads 0 failed deep in torch, a ZeroDivisionError for heads)
        for name in ("num_joints", "channels", "dim", "depth", "heads"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.prune_stride < 0 or self.prune_after < 0:
            raise ValueError(f"prune_stride and prune_after must be >= 0, got "
                             f"{self.prune_stride}, {self.prune_after}")
        if not (0.0 <= self.dropout < 1.0 and self.mlp_ratio > 0):
            raise ValueError(f"dropout must be in [0, 1) and mlp_ratio > 0, got "
                             f"{self.dropout}, {self.mlp_ratio}")
        if self.architecture == "stformer":
            if self.window < 1:
                raise ValueError(f"window must be >= 1, got {self.window}")
            if self.dim % self.heads:
                raise ValueError(f"dim {self.dim} must be a multiple of heads {self.heads} "
                                 "(each head takes dim / heads channels)")
            return
        if self.window not in RECEPTIVE_FIELDS:
            raise ValueError(f"window must be one of {sorted(RECEPTIVE_FIELDS)}, "
                             f"got {self.window}")

    @property
    def num_features(self) -> int:
        return 3 * self.num_joints + 2

    def to_dict(self) -> dict:
        return asdict(self)

    def used(self) -> dict:
        """to_dict's fields that the architecture uses (a tcn has no dim, depth, heads,
        mlp_ratio or pruning; a stformer no channels): what weights trained as one model must
        match to be trained on as another."""
        unused = (("dim", "depth", "heads", "mlp_ratio", "prune_stride", "prune_after")
                  if self.architecture == "tcn" else ("channels",))
        return {k: v for k, v in self.to_dict().items() if k not in unused}


class TemporalLifter(nn.Module):
    """Temporal conv net; kernel 3, receptive field 3^n frames, one output frame.

    Equivalent to VideoPose3D's dilated convolutions (dilations 1, 3, 9, ...) evaluated at a
    single output frame, computed in the strided form (stride 3 at every level): the same
    weights, without computing frames that no output needs (27 -> 9 -> 3 -> 1).
    """

    def __init__(self, config: LifterConfig) -> None:
        super().__init__()
        self.config = config
        c = config.channels
        self.expand = nn.Sequential(nn.Conv1d(config.num_features, c, 3, stride=3, bias=False),
                                    nn.BatchNorm1d(c), nn.ReLU(), nn.Dropout(config.dropout))
        blocks = []
        for _ in range(1, RECEPTIVE_FIELDS[config.window]):
            blocks.append(nn.Sequential(
                nn.Conv1d(c, c, 3, stride=3, bias=False), nn.BatchNorm1d(c), nn.ReLU(),
                nn.Dropout(config.dropout),
                nn.Conv1d(c, c, 1, bias=False), nn.BatchNorm1d(c), nn.ReLU(),
                nn.Dropout(config.dropout)))
        self.blocks = nn.ModuleList(blocks)
        self.head = nn.Conv1d(c, config.num_joints * 3, 1)

    @property
    def receptive_field(self) -> int:
        return self.config.window

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """(B, T, F) -> (B, J, 3) root-relative metres of the centre (or last) frame."""
        if not torch.jit.is_tracing() and features.shape[1] != self.config.window:
            raise ValueError(f"expected a window of {self.config.window} frames, "
                             f"got {features.shape[1]}")
        x = self.expand(features.transpose(1, 2))
        # residual: of each group of 3 frames, the one the output is aligned with
        first = 2 if self.config.causal else 1
        for block in self.blocks:
            x = block(x) + x[:, :, first::3]
        y = self.head(x)[:, :, -1]  # one frame remains
        y = y.view(-1, self.config.num_joints, 3)
        return y - y[:, :1]  # root-relative by construction


def build_lifter(config: LifterConfig) -> nn.Module:
    """The network a LifterConfig describes (TemporalLifter or SpatioTemporalLifter)."""
    if config.architecture == "stformer":
        from .transformer import SpatioTemporalLifter

        return SpatioTemporalLifter(config)
    return TemporalLifter(config)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())

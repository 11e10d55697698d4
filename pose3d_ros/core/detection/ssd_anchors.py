"""MediaPipe's SSD anchors and the decoding of the BlazePose person detector's raw outputs.

The anchor scheme and decoding constants are those of MediaPipe's pose detection graph
(SsdAnchorsCalculator and TensorsToDetectionsCalculator options of pose_detection_cpu):
224x224 input, strides 8, 16, 32, 32, 32, two anchors per cell and layer, fixed anchor size,
12 regressors per anchor (box centre/size, then 4 keypoints), sigmoid scores clipped at 100.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .base import box_iou, sigmoid


@dataclass(frozen=True)
class SsdAnchorOptions:
    """Options of MediaPipe's SsdAnchorsCalculator (only those the pose detector uses)."""

    input_size: int = 224
    strides: tuple[int, ...] = (8, 16, 32, 32, 32)
    anchors_per_layer: int = 2  # aspect ratio 1.0 plus the interpolated scale
    anchor_offset: float = 0.5


def ssd_anchor_centres(options: SsdAnchorOptions = SsdAnchorOptions()) -> np.ndarray:
    """Anchor centres (A, 2) as (x, y) normalised to [0, 1] of the detector input.

    Consecutive layers with the same stride share one feature map: each cell gets
    anchors_per_layer anchors per such layer, cells in row-major order (y, then x).
    """
    centres = []
    layer = 0
    strides = options.strides
    while layer < len(strides):
        same = layer
        while same < len(strides) and strides[same] == strides[layer]:
            same += 1
        cells = int(np.ceil(options.input_size / strides[layer]))
        grid = (np.arange(cells, dtype=np.float64) + options.anchor_offset) / cells
        y, x = np.meshgrid(grid, grid, indexing="ij")
        per_cell = options.anchors_per_layer * (same - layer)
        xy = np.stack([x.ravel(), y.ravel()], axis=1)
        centres.append(np.repeat(xy, per_cell, axis=0))
        layer = same
    return np.concatenate(centres).astype(np.float32)


POSE_DETECTOR_ANCHORS = ssd_anchor_centres()  # (2254, 2)
NUM_DETECTOR_KEYPOINTS = 4


@dataclass(frozen=True)
class PersonDetections:
    """Decoded detector output for one image, in normalised detector-input coordinates.

    boxes: (N, 4) xyxy in [0, 1]; keypoints: (N, 4, 2) (x, y); scores: (N,).
    Keypoint 0 is the hip centre, keypoint 1 encodes body size and rotation (MediaPipe).
    """

    boxes: np.ndarray
    keypoints: np.ndarray
    scores: np.ndarray


def decode_pose_detector(raw_boxes: np.ndarray, raw_scores: np.ndarray, *,
                         min_score: float = 0.5, iou_threshold: float = 0.3,
                         max_people: int = 10, input_size: int = 224) -> PersonDetections:
    """Decode one image's raw detector output: raw_boxes (2254, 12), raw_scores (2254,) or
    (2254, 1) logits -> weighted-NMS people (MediaPipe's WEIGHTED suppression)."""
    anchors = POSE_DETECTOR_ANCHORS
    raw_boxes = np.asarray(raw_boxes, np.float32).reshape(-1, 12)
    raw_scores = np.asarray(raw_scores, np.float32).reshape(-1)
    if raw_boxes.shape[0] != anchors.shape[0] or raw_scores.shape[0] != anchors.shape[0]:
        raise ValueError(f"pose detector output: expected {anchors.shape[0]} anchors, got boxes "
                         f"{raw_boxes.shape} and scores {raw_scores.shape}")
    scores = sigmoid(np.clip(raw_scores, -100.0, 100.0))
    chosen = np.flatnonzero(scores >= min_score)
    raw = raw_boxes[chosen] / input_size  # fixed anchor size 1: offsets scale by 1/input
    centre = anchors[chosen]
    box_centre = raw[:, 0:2] + centre
    half = raw[:, 2:4] / 2
    boxes = np.concatenate([box_centre - half, box_centre + half], axis=1)
    keypoints = raw[:, 4:].reshape(-1, NUM_DETECTOR_KEYPOINTS, 2) + centre[:, None, :]
    return weighted_nms(boxes, keypoints, scores[chosen], iou_threshold, max_people)


def weighted_nms(boxes: np.ndarray, keypoints: np.ndarray, scores: np.ndarray,
                 iou_threshold: float, max_people: int) -> PersonDetections:
    """MediaPipe's weighted NMS: each cluster (IoU > threshold with the best remaining box)
    is replaced by the score-weighted mean of its boxes and keypoints, with the best score.
    One IoU matrix; each cluster is a row of it. A box of no area is a cluster of its own
    (before, it overlapped nothing, not even itself, and came out max_people times)."""
    order = np.argsort(-scores, kind="stable")
    boxes, keypoints, scores = boxes[order], keypoints[order], scores[order]
    overlap = box_iou(boxes, boxes) > iou_threshold                         # (N, N)
    left = np.ones(order.size, bool)
    out_boxes: list[np.ndarray] = []
    out_points: list[np.ndarray] = []
    out_scores: list[float] = []
    while left.any() and len(out_scores) < max_people:
        best = int(np.argmax(left))                   # the best box not in a cluster yet
        cluster = left & overlap[best]
        cluster[best] = True
        weight = scores[cluster] / scores[cluster].sum()
        out_boxes.append(weight @ boxes[cluster])
        out_points.append(np.einsum("n,nkc->kc", weight, keypoints[cluster]))
        out_scores.append(scores[best])
        left &= ~cluster
    if not out_scores:
        return PersonDetections(np.zeros((0, 4), np.float32),
                                np.zeros((0, NUM_DETECTOR_KEYPOINTS, 2), np.float32),
                                np.zeros((0,), np.float32))
    return PersonDetections(np.asarray(out_boxes, np.float32),
                            np.asarray(out_points, np.float32),
                            np.asarray(out_scores, np.float32))

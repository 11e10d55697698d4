"""Bring-your-own ONNX pose models on onnxruntime (TensorRT -> CUDA -> CPU).

Declared formats (checked when the model loads; a mismatch raises ValueError naming the
expected and the actual shapes):

  YOLO-pose (Ultralytics export, single stage): input (B, 3, H, W) RGB in [0, 1], letterboxed
    with grey 114; output (B, 4 + 1 + 3K, N): box centre x, y, width, height in input pixels,
    person score, then K keypoints as (x, y, score). K = 17 (COCO order).
  YOLO detection (Ultralytics export), the person detector of the top-down models: input as
    above; output (B, 4 + C, N): box, then C class scores; class `person_class` (0) is used.
  RTMPose (SimCC, top-down): input (B, 3, H, W) normalised RGB of a person crop; outputs
    simcc_x (B, K, W * r) and simcc_y (B, K, H * r), r the SimCC split ratio (2 for RTMPose).
  Heatmap (HRNet, ViTPose, top-down): input as RTMPose; output (B, K, h, w) heatmaps.

Top-down crops follow mmpose: the person box grows by `box_padding` (1.25), its aspect ratio
is made that of the model input, and the crop is an axis-aligned affine warp.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import cv2
import numpy as np

from ..layouts import COCO17
from ..types import Detections2D
from .base import check_images, check_limits, nms
from .onnx_session import OnnxModel, select_providers, usable_providers

__all__ = ["OnnxModel", "select_providers", "usable_providers", "YoloPoseDetector",
           "RTMPoseDetector", "HeatmapPoseDetector"]


IMAGENET_MEAN_RGB = np.array([123.675, 116.28, 103.53], np.float32)
IMAGENET_STD_RGB = np.array([58.395, 57.12, 57.375], np.float32)


# ----------------------------------------------------------------------------- YOLO family

def letterbox(image: np.ndarray, height: int, width: int,
              fill: int = 114) -> tuple[np.ndarray, float, np.ndarray]:
    """Ultralytics letterbox: resize keeping aspect ratio, pad centred with `fill`.

    Returns (padded BGR uint8 (height, width, 3), scale, pad (left, top) in input pixels);
    image pixel = (input pixel - pad) / scale.
    """
    h, w = image.shape[:2]
    scale = min(height / h, width / w)
    new_w, new_h = max(1, int(round(w * scale))), max(1, int(round(h * scale)))
    left = int(round((width - new_w) / 2 - 0.1))
    top = int(round((height - new_h) / 2 - 0.1))
    out = np.full((height, width, 3), fill, np.uint8)
    resized = image if (new_w, new_h) == (w, h) else cv2.resize(
        image, (new_w, new_h), interpolation=cv2.INTER_LINEAR)
    out[top:top + new_h, left:left + new_w] = resized
    return out, scale, np.array([left, top], np.float32)


def _to_nchw_rgb01(images: list[np.ndarray]) -> np.ndarray:
    """BGR uint8 images (H, W, 3) -> one C-contiguous (B, 3, H, W) RGB float32 batch in [0, 1],
    written in one pass."""
    stacked = np.stack(images)
    out = np.empty((len(images), 3, *stacked.shape[1:3]), np.float32)
    np.divide(stacked[..., ::-1].transpose(0, 3, 1, 2), np.float32(255), out=out)
    return out


def _output_rows(out: np.ndarray, width: int, role: str, expected: str) -> np.ndarray:
    """(B, C, N) Ultralytics output -> rows (B, N, C), checking C."""
    if out.ndim != 3 or out.shape[1] != width:
        raise ValueError(f"{role}: expected output {expected}, got {out.shape}")
    return out.transpose(0, 2, 1)


def _xywh_to_xyxy(xywh: np.ndarray) -> np.ndarray:
    return np.concatenate([xywh[..., :2] - xywh[..., 2:] / 2, xywh[..., :2] + xywh[..., 2:] / 2],
                          axis=-1)


class YoloPoseDetector:
    """Ultralytics YOLO-pose ONNX export: single-stage multi-person COCO-17 keypoints.

    Options: model (path to .onnx), score_threshold (person score, 0.25), iou_threshold
    (NMS, 0.65), max_people (20), min_keypoint_score (below it a joint is NaN; 0 keeps all),
    providers, fp16, intra_op_threads, cudnn_conv_algo_search, pad_batches
    (onnx_session.OnnxModel).
    """

    layout = COCO17

    def __init__(self, model: Path | str, *, score_threshold: float = 0.25,
                 iou_threshold: float = 0.65, max_people: int = 20,
                 min_keypoint_score: float = 0.0, providers: Sequence[str] | None = None,
                 fp16: bool = True, intra_op_threads: int | None = None,
                 cudnn_conv_algo_search: str = "EXHAUSTIVE",
                 pad_batches: bool | None = None) -> None:
        self.name = "yolo_pose"
        check_limits(self.name, max_people, score_threshold=score_threshold,
                     iou_threshold=iou_threshold, min_keypoint_score=min_keypoint_score)
        self.model = OnnxModel(model, role="yolo_pose", providers=providers, fp16=fp16,
                               intra_op_threads=intra_op_threads,
                               cudnn_conv_algo_search=cudnn_conv_algo_search,
                               pad_batches=pad_batches)
        self.runtime = self.model.runtime
        self.input_hw = self.model.check_image_input("(B, 3, H, W) RGB in [0, 1]")
        self.num_values = 5 + 3 * self.layout.num_joints
        shape = self.model.output_shapes[0]
        if len(shape) != 3 or shape[1] not in (None, self.num_values):
            raise ValueError(f"yolo_pose: expected output (B, {self.num_values}, N) "
                             f"(box 4 + score 1 + 17 x (x, y, score)), got {shape}")
        self.score_threshold = score_threshold
        self.iou_threshold = iou_threshold
        self.max_people = max_people
        self.min_keypoint_score = min_keypoint_score

    def detect(self, images: Sequence[np.ndarray], cameras: Sequence[int] | None = None,
               stamps: Sequence[float] | None = None) -> list[Detections2D]:
        """cameras, stamps: accepted for the common interface; this back-end keeps no
        state."""
        images = check_images(images, "yolo_pose.detect")
        if not images:
            return []
        boxed = [letterbox(im, *self.input_hw) for im in images]
        out = self.model.run(_to_nchw_rgb01([b[0] for b in boxed]))[0]
        rows = _output_rows(out, self.num_values, "yolo_pose",
                            f"(B, {self.num_values}, N)")
        return [self._decode(rows[k], boxed[k][1], boxed[k][2], images[k].shape)
                for k in range(len(images))]

    def _decode(self, rows: np.ndarray, scale: float, pad: np.ndarray,
                shape: tuple[int, ...]) -> Detections2D:
        size = (int(shape[1]), int(shape[0]))
        rows = rows[rows[:, 4] >= self.score_threshold]
        if len(rows) == 0:
            return Detections2D.empty(self.layout, size)
        boxes = _xywh_to_xyxy(rows[:, :4])
        keep = nms(boxes, rows[:, 4], self.iou_threshold)[:self.max_people]
        rows, boxes = rows[keep], boxes[keep]
        joints = rows[:, 5:].reshape(len(rows), -1, 3)
        keypoints = (joints[..., :2] - pad) / scale
        scores = np.clip(joints[..., 2], 0.0, 1.0)
        keypoints[scores < self.min_keypoint_score] = np.nan
        boxes = (boxes.reshape(-1, 2, 2) - pad) / scale
        return Detections2D(keypoints=keypoints.astype(np.float32),
                            scores=scores.astype(np.float32),
                            boxes=boxes.reshape(-1, 4).astype(np.float32),
                            person_scores=rows[:, 4].astype(np.float32), layout=self.layout,
                            image_size=size)

    def reset(self, cameras: Sequence[int] | None = None) -> None:
        """Nothing to forget: this back-end keeps no state between frames."""

    def close(self) -> None:
        self.model.close()


@dataclass(frozen=True)
class PersonBoxes:
    """Person boxes of one image: boxes (N, 4) xyxy image pixels, scores (N,)."""

    boxes: np.ndarray
    scores: np.ndarray


class YoloPersonDetector:
    """Ultralytics YOLO detection ONNX export used as the person detector of top-down models.

    Options: model, person_class (0 in COCO), score_threshold (0.3), iou_threshold (0.65),
    max_people (20), providers, fp16, intra_op_threads, cudnn_conv_algo_search,
    pad_batches.
    """

    def __init__(self, model: Path | str, *, person_class: int = 0,
                 score_threshold: float = 0.3, iou_threshold: float = 0.65,
                 max_people: int = 20, providers: Sequence[str] | None = None,
                 fp16: bool = True, intra_op_threads: int | None = None,
                 cudnn_conv_algo_search: str = "EXHAUSTIVE",
                 pad_batches: bool | None = None) -> None:
        check_limits("person detector", max_people, score_threshold=score_threshold,
                     iou_threshold=iou_threshold)
        self.model = OnnxModel(model, role="person detector", providers=providers, fp16=fp16,
                               intra_op_threads=intra_op_threads,
                               cudnn_conv_algo_search=cudnn_conv_algo_search,
                               pad_batches=pad_batches)
        self.input_hw = self.model.check_image_input("(B, 3, H, W) RGB in [0, 1]")
        shape = self.model.output_shapes[0]
        if len(shape) != 3 or (shape[1] is not None and shape[1] < 5 + person_class):
            raise ValueError(f"person detector: expected output (B, 4 + classes, N) with class "
                             f"{person_class} present, got {shape}")
        if _end_to_end(shape):
            # (a review: an end-to-end export, (1, 300, 6) boxes x1 y1 x2 y2 score class,
            # passed the check above and made people of 520 points "score")
            raise ValueError(f"person detector: output {shape} holds its boxes along the "
                             "second axis, as an end-to-end export with NMS inside does; "
                             "export the raw head, (B, 4 + classes, N) (Ultralytics: "
                             "export(format='onnx', nms=False, end2end=False))")
        self.person_class = person_class
        self.score_threshold = score_threshold
        self.iou_threshold = iou_threshold
        self.max_people = max_people

    def detect(self, images: list[np.ndarray]) -> list[PersonBoxes]:
        boxed = [letterbox(im, *self.input_hw) for im in images]
        out = self.model.run(_to_nchw_rgb01([b[0] for b in boxed]))[0]
        if out.ndim != 3 or out.shape[1] < 5 + self.person_class or _end_to_end(out.shape):
            raise ValueError(f"person detector: expected output (B, 4 + classes, N), "
                             f"got {out.shape}")
        rows = out.transpose(0, 2, 1)
        results = []
        for k, (_, scale, pad) in enumerate(boxed):
            score = rows[k, :, 4 + self.person_class]
            chosen = rows[k][score >= self.score_threshold]
            score = score[score >= self.score_threshold]
            boxes = _xywh_to_xyxy(chosen[:, :4])
            keep = nms(boxes, score, self.iou_threshold)[:self.max_people]
            boxes = (boxes[keep].reshape(-1, 2, 2) - pad) / scale
            results.append(PersonBoxes(boxes.reshape(-1, 4).astype(np.float32),
                                       score[keep].astype(np.float32)))
        return results


def _end_to_end(shape: Sequence[int | None]) -> bool:
    """Whether a detector's (B, ., .) output is an end-to-end export's: its boxes along the
    second axis, each x1 y1 x2 y2 score class (6 values; 7 with the batch index), not the
    raw head's (B, 4 + classes, N)."""
    return (len(shape) == 3 and shape[1] is not None and shape[2] in (6, 7)
            and shape[1] > shape[2])


# ----------------------------------------------------------------------------- top-down

def box_to_crop_affine(boxes: np.ndarray, input_hw: tuple[int, int],
                       padding: float) -> np.ndarray:
    """Affines (N, 2, 3) from crop pixels (model input) to image pixels for boxes (N, 4) xyxy.

    The box is scaled by `padding` and widened or heightened to the input's aspect ratio,
    as mmpose's top-down pipeline does (no rotation).
    """
    height, width = input_hw
    centre = (boxes[:, :2] + boxes[:, 2:]) / 2
    size = (boxes[:, 2:] - boxes[:, :2]) * padding
    aspect = width / height
    w = np.maximum(size[:, 0], size[:, 1] * aspect)
    h = w / aspect
    step_x, step_y = w / width, h / height
    affine = np.zeros((len(boxes), 2, 3), np.float64)
    affine[:, 0, 0] = step_x
    affine[:, 1, 1] = step_y
    affine[:, 0, 2] = centre[:, 0] - w / 2
    affine[:, 1, 2] = centre[:, 1] - h / 2
    return affine


def _runtime_of(pose: OnnxModel, person: OnnxModel) -> str:
    """Where a two-model back-end runs, in words (both models, when they differ)."""
    if pose.runtime == person.runtime:
        return pose.runtime
    return f"{pose.runtime} (person detector: {person.runtime})"


class _TopDown:
    """Shared top-down flow: person boxes -> crops over all cameras x people -> pose model."""

    layout = COCO17
    name = "top_down"
    input_format = "(B, 3, H, W) normalised RGB"

    def __init__(self, model: Path | str, person_detector: Path | str, *,
                 box_padding: float = 1.25, mean: Sequence[float] = tuple(IMAGENET_MEAN_RGB),
                 std: Sequence[float] = tuple(IMAGENET_STD_RGB), rgb: bool = True,
                 min_keypoint_score: float = 0.0, person_score_threshold: float = 0.3,
                 max_people: int = 20, providers: Sequence[str] | None = None,
                 fp16: bool = True, intra_op_threads: int | None = None,
                 cudnn_conv_algo_search: str = "EXHAUSTIVE",
                 pad_batches: bool | None = None) -> None:
        check_limits(self.name, max_people, min_keypoint_score=min_keypoint_score,
                     person_score_threshold=person_score_threshold)
        self.model = OnnxModel(model, role=self.name, providers=providers, fp16=fp16,
                               intra_op_threads=intra_op_threads,
                               cudnn_conv_algo_search=cudnn_conv_algo_search,
                               pad_batches=pad_batches)
        self.input_hw = self.model.check_image_input(self.input_format)
        self._check_outputs()
        self.person_detector = YoloPersonDetector(
            person_detector, score_threshold=person_score_threshold, max_people=max_people,
            providers=providers, fp16=fp16, intra_op_threads=intra_op_threads,
            cudnn_conv_algo_search=cudnn_conv_algo_search, pad_batches=pad_batches)
        self.runtime = _runtime_of(self.model, self.person_detector.model)
        self.box_padding = box_padding
        self.mean = np.asarray(mean, np.float32)
        self.std = np.asarray(std, np.float32)
        self.rgb = rgb
        self.min_keypoint_score = min_keypoint_score

    def _check_outputs(self) -> None:
        raise NotImplementedError

    def _decode(self, outputs: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """Model outputs -> keypoints in crop pixels (N, K, 2) and scores (N, K)."""
        raise NotImplementedError

    def detect(self, images: Sequence[np.ndarray], cameras: Sequence[int] | None = None,
               stamps: Sequence[float] | None = None) -> list[Detections2D]:
        """cameras, stamps: accepted for the common interface; this back-end keeps no
        state."""
        images = check_images(images, f"{self.name}.detect")
        if not images:
            return []
        people = self.person_detector.detect(images)
        boxes = np.concatenate([p.boxes for p in people]) if people else np.zeros((0, 4))
        owner = np.concatenate([np.full(len(p.boxes), k) for k, p in enumerate(people)])
        height, width = self.input_hw
        if len(boxes):
            affine = box_to_crop_affine(boxes, self.input_hw, self.box_padding)
            crops = np.stack([
                cv2.warpAffine(images[owner[i]], affine[i], (width, height),
                               flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                               borderMode=cv2.BORDER_CONSTANT, borderValue=0)
                for i in range(len(boxes))])
            if self.rgb:
                crops = crops[..., ::-1]
            batch = ((crops.astype(np.float32) - self.mean) / self.std).transpose(0, 3, 1, 2)
            crop_xy, scores = self._decode(self.model.run(batch))
            keypoints = np.einsum("nij,nkj->nki", affine[:, :, :2], crop_xy) + \
                affine[:, None, :, 2]
            keypoints[scores < self.min_keypoint_score] = np.nan
        else:
            keypoints = np.zeros((0, self.layout.num_joints, 2))
            scores = np.zeros((0, self.layout.num_joints))
        results = []
        for k, image in enumerate(images):
            mine = owner == k
            results.append(Detections2D(
                keypoints=keypoints[mine].astype(np.float32),
                scores=np.clip(scores[mine], 0.0, 1.0).astype(np.float32),
                boxes=boxes[mine].astype(np.float32),
                person_scores=people[k].scores.astype(np.float32), layout=self.layout,
                image_size=(int(image.shape[1]), int(image.shape[0]))))
        return results

    def reset(self, cameras: Sequence[int] | None = None) -> None:
        """Nothing to forget: this back-end keeps no state between frames."""

    def close(self) -> None:
        self.model.close()
        self.person_detector.model.close()


class RTMPoseDetector(_TopDown):
    """RTMPose (SimCC) top-down COCO-17 with a YOLO person detector.

    Options: model, person_detector (YOLO detection .onnx), box_padding (1.25), mean/std
    (ImageNet, RGB, 0-255 scale), rgb (feed RGB: True), min_keypoint_score,
    person_score_threshold, providers, fp16, intra_op_threads, cudnn_conv_algo_search,
    pad_batches.
    Joint score = the smaller of the x and y SimCC maxima (as mmpose), clipped to [0, 1].
    """

    name = "rtmpose"

    def _check_outputs(self) -> None:
        height, width = self.input_hw
        shapes = self.model.output_shapes
        joints = self.layout.num_joints
        ok = (len(shapes) == 2 and all(len(s) == 3 for s in shapes)
              and shapes[0][1] in (None, joints) and shapes[1][1] in (None, joints))
        if ok and shapes[0][2] is not None and shapes[1][2] is not None:
            ratio_x, ratio_y = shapes[0][2] / width, shapes[1][2] / height
            ok = ratio_x == ratio_y and ratio_x >= 1
        if not ok:
            raise ValueError(f"rtmpose: expected outputs simcc_x (B, {joints}, {width}*r) and "
                             f"simcc_y (B, {joints}, {height}*r) with one split ratio r, "
                             f"got {shapes}")

    def _decode(self, outputs: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        simcc_x, simcc_y = outputs[:2]
        ratio = simcc_x.shape[2] / self.input_hw[1]
        x = np.argmax(simcc_x, axis=2)
        y = np.argmax(simcc_y, axis=2)
        scores = np.minimum(simcc_x.max(axis=2), simcc_y.max(axis=2))
        return np.stack([x, y], axis=-1).astype(np.float64) / ratio, scores


class HeatmapPoseDetector(_TopDown):
    """Heatmap (HRNet / ViTPose) top-down COCO-17 with a YOLO person detector.

    Options as RTMPoseDetector. Decoding: per-joint argmax refined by a quarter pixel towards
    the higher neighbour (the classic HRNet rule), scaled by input / heatmap size; joint
    score = heatmap peak, clipped to [0, 1].
    """

    name = "heatmap"

    def _check_outputs(self) -> None:
        shapes = self.model.output_shapes
        joints = self.layout.num_joints
        if len(shapes[0]) != 4 or shapes[0][1] not in (None, joints):
            raise ValueError(f"heatmap: expected output (B, {joints}, h, w) heatmaps, "
                             f"got {shapes[0]}")

    def _decode(self, outputs: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        heatmaps = outputs[0]
        n, k, h, w = heatmaps.shape
        flat = heatmaps.reshape(n, k, h * w)
        peak = np.argmax(flat, axis=2)
        scores = np.take_along_axis(flat, peak[..., None], axis=2)[..., 0]
        y, x = np.divmod(peak, w)
        padded = np.pad(heatmaps, ((0, 0), (0, 0), (1, 1), (1, 1)), mode="edge")
        ni, ki = np.meshgrid(np.arange(n), np.arange(k), indexing="ij")
        dx = padded[ni, ki, y + 1, x + 2] - padded[ni, ki, y + 1, x]
        dy = padded[ni, ki, y + 2, x + 1] - padded[ni, ki, y, x + 1]
        xy = np.stack([x + 0.25 * np.sign(dx), y + 0.25 * np.sign(dy)], axis=-1)
        scale = np.array([self.input_hw[1] / w, self.input_hw[0] / h])
        return xy * scale, scores

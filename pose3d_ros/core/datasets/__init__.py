"""Loaders of public multi-view data sets and 2D detection files, and their evaluation
(docs/datasets.md).

  campus_shelf.py     Campus / Shelf: 4D-association release, actorsGT + VoxelPose calibration
  panoptic.py         CMU Panoptic: calibration_<seq>.json, hdPose3d_stage1_coco19
  detection_files.py  OpenPose JSON and COCO keypoint JSON 2D files
  bottom_up.py        OpenPose bottom-up candidates + affinities grouped into people
  evaluation.py       the package's pipeline on a sequence, scored with PCP / MPJPE / ghosts
  records.py          MultiViewSequence, GroundTruth and shared checks
  writers.py          the same formats written (export; the tests' files)
"""
from .campus_shelf import load_campus_shelf
from .detection_files import DETECTION_FORMATS, attach_detections
from .evaluation import SequenceEvaluation, evaluate_sequence
from .panoptic import load_panoptic
from .records import GroundTruth, MultiViewSequence

__all__ = ["DETECTION_FORMATS", "GroundTruth", "MultiViewSequence", "SequenceEvaluation",
           "attach_detections", "evaluate_sequence", "load_campus_shelf", "load_panoptic"]

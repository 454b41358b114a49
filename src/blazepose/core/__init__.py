"""The pose pipeline: one stage per module, and ``PoseEstimator`` that runs them.

Numpy stages (anchors, detection, roi, crop, landmarks, segmentation,
filters, tracking, tracks, timestamps, float32 helpers, topology, results,
validation) with the optional compiled kernels (``native``). This folder
imports only ``blazepose.backends`` (the inference seam) and
``blazepose.models`` (the vendored model files), never the APIs, I/O,
drawing or tools built on it.
"""

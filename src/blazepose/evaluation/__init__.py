"""Measuring: COCO keypoint mapping and OKS, PCK / PCKh / COCO AP on keypoint files, reports,
and the side-by-side comparison with MediaPipe 0.10.14 (``parity``)."""

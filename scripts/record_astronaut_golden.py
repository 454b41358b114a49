"""Records MediaPipe 0.10.14's answers on scikit-image's astronaut photo as
test expectations (tests/golden_astronaut.py), so that a fresh clone without
MediaPipe or ../shared/data still checks real-photo results.

Run with MediaPipe 0.10.14 installed (WITH_MEDIAPIPE=1 scripts/test.sh sets
that up): .venv/bin/python scripts/record_astronaut_golden.py
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from skimage import data

from blazepose.evaluation.parity import mediapipe_pose

OUT = Path(__file__).resolve().parent.parent / "tests" / "golden_astronaut.py"


def main() -> None:
    image = data.astronaut()
    h, w = image.shape[:2]
    lines = [
        '"""MediaPipe 0.10.14 on scikit-image\'s astronaut, static_image_mode=True.',
        "",
        "Written by scripts/record_astronaut_golden.py; do not edit by hand.",
        '"""',
        "",
        "# model_complexity -> 33 landmarks (x_px, y_px), world landmarks (x, y, z) m,",
        "# and the segmentation mask's area (pixels >= 0.5) and centroid (x_px, y_px).",
        "GOLDEN = {",
    ]
    for k in (0, 1, 2):
        with mediapipe_pose(static_image_mode=True, model_complexity=k, enable_segmentation=True) as pose:
            r = pose.process(image)
        lm = np.array([[p.x * w, p.y * h] for p in r.pose_landmarks.landmark])
        world = np.array([[p.x, p.y, p.z] for p in r.pose_world_landmarks.landmark])
        mask = r.segmentation_mask >= 0.5
        ys, xs = np.nonzero(mask)
        lines.append(f"    {k}: {{")
        lines.append(f"        'landmarks_px': {np.round(lm, 2).tolist()},")
        lines.append(f"        'world': {np.round(world, 4).tolist()},")
        lines.append(f"        'mask_area': {int(mask.sum())},")
        lines.append(f"        'mask_centroid_px': {[round(float(xs.mean()), 2), round(float(ys.mean()), 2)]},")
        lines.append("    },")
    lines.append("}")
    OUT.write_text("\n".join(lines) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()

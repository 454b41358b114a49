"""A 3D plot of world landmarks (matplotlib, the ``plot`` extra)."""

from __future__ import annotations

import numpy as np

from blazepose.core.results import PoseResult
from blazepose.core.topology import POSE_CONNECTIONS


def world_plot(result: PoseResult, azimuth: float, size: int = 480) -> np.ndarray:
    """A BGR image of the first pose's world landmarks in 3D (matplotlib)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(size / 100, size / 100), dpi=100)
    ax = fig.add_subplot(projection="3d")
    ax.view_init(elev=10, azim=azimuth)
    ax.set_xlim(-1, 1), ax.set_ylim(-1, 1), ax.set_zlim(-1, 1)
    if len(result):
        w = result.world_landmarks[0]
        pts = np.stack([-w[:, 2], w[:, 0], -w[:, 1]], axis=1)  # as MediaPipe plots: (-z, x, -y)
        ax.scatter(*pts.T, c="red", s=8)
        for a, b in POSE_CONNECTIONS:
            ax.plot(*pts[[a, b]].T, c="black", linewidth=1.5)
    fig.canvas.draw()
    rgba = np.asarray(fig.canvas.buffer_rgba())  # type: ignore[attr-defined]  # the Agg canvas has it
    plt.close(fig)
    return np.ascontiguousarray(rgba[..., 2::-1])

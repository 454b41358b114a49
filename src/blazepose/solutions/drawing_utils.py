"""MediaPipe-compatible drawing helpers: ``draw_landmarks``, ``plot_landmarks``, ``DrawingSpec``."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from blazepose.draw.skeleton import (
    BLACK_COLOR,
    BLUE_COLOR,
    GREEN_COLOR,
    PRESENCE_THRESHOLD,
    RED_COLOR,
    VISIBILITY_THRESHOLD,
    WHITE_COLOR,
    DrawingSpec,
    check_connection,
    draw_skeleton,
    normalized_to_pixel,
)
from blazepose.solutions.landmark_list import NormalizedLandmarkList, landmark_list_to_arrays

_normalized_to_pixel_coordinates = normalized_to_pixel


def _pairs(connections: Iterable[Any] | None) -> list[tuple[int, int]] | None:
    """Index pairs from pairs or from MediaPipe Tasks' ``Connection`` objects (``start``, ``end``)."""
    if connections is None:
        return None
    return [(c.start, c.end) if hasattr(c, "start") else tuple(c) for c in connections]  # type: ignore[misc]


def draw_landmarks(
    image: np.ndarray,
    landmark_list: NormalizedLandmarkList | Sequence[Any] | None,
    connections: Iterable[Any] | None = None,
    landmark_drawing_spec: DrawingSpec | Mapping[int, DrawingSpec] | None = DrawingSpec(color=RED_COLOR),  # noqa: B008
    connection_drawing_spec: DrawingSpec | Mapping[tuple[int, int], DrawingSpec] = DrawingSpec(),  # noqa: B008
    is_drawing_landmarks: bool = True,
) -> None:
    r"""Draws landmarks and their connections on a BGR image, in place.

    Args:
        image: (H, W, 3) uint8 BGR image.
        landmark_list: Normalized landmarks (nothing is drawn when None or empty): a
            landmark list, or a pose's list of landmarks as MediaPipe Tasks gives it.
        connections: Landmark index pairs to join (or Tasks' ``Connection``\ s).
        landmark_drawing_spec: Spec for the dots, or a mapping per landmark
            index; None draws no dots.
        connection_drawing_spec: Spec for the lines, or a mapping per connection.
        is_drawing_landmarks: Whether to draw the dots.

    Raises:
        ValueError: the image is not 3-channel, or a connection names a
            landmark index out of range.
    """
    if not landmark_list:
        return
    if image.shape[2] != 3:
        raise ValueError("Input image must contain three channel bgr data.")
    xyz, vis, pres = landmark_list_to_arrays(landmark_list)
    draw_skeleton(
        image,
        xyz,
        visibility=vis,
        presence=pres,
        connections=_pairs(connections),
        landmark_spec=landmark_drawing_spec,
        connection_spec=connection_drawing_spec,
        draw_points=is_drawing_landmarks and bool(landmark_drawing_spec),
    )


def _rgb(color: tuple[int, int, int]) -> tuple[float, float, float]:
    b, g, r = color
    return r / 255.0, g / 255.0, b / 255.0


def plot_landmarks(
    landmark_list: NormalizedLandmarkList | None,
    connections: Iterable[tuple[int, int]] | None = None,
    landmark_drawing_spec: DrawingSpec = DrawingSpec(color=RED_COLOR, thickness=5),  # noqa: B008
    connection_drawing_spec: DrawingSpec = DrawingSpec(color=BLACK_COLOR, thickness=5),  # noqa: B008
    elevation: int = 10,
    azimuth: int = 10,
):
    """Plots (world) landmarks in 3D with matplotlib and shows the figure.

    As in MediaPipe, the plot's axes are ``(-z, x, -y)``. Needs the ``plot``
    extra (matplotlib). Returns the matplotlib figure (MediaPipe returns
    None) so that it can be saved.

    Raises:
        ImportError: matplotlib is not installed.
        ValueError: a connection names a landmark index out of range.
    """
    if not landmark_list:
        return None
    try:
        import matplotlib.pyplot as plt
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError("plot_landmarks needs matplotlib: pip install 'blazepose[plot]'") from e
    xyz, vis, pres = landmark_list_to_arrays(landmark_list)
    fig = plt.figure(figsize=(10, 10))
    ax = fig.add_subplot(projection="3d")
    ax.view_init(elev=elevation, azim=azimuth)
    plotted: dict[int, tuple[float, float, float]] = {}
    for i, (x, y, z) in enumerate(xyz):
        if (vis is not None and vis[i] < VISIBILITY_THRESHOLD) or (pres is not None and pres[i] < PRESENCE_THRESHOLD):
            continue
        ax.scatter3D(
            xs=[-z],
            ys=[x],
            zs=[-y],
            color=_rgb(landmark_drawing_spec.color),
            linewidth=landmark_drawing_spec.thickness,
        )
        plotted[i] = (-z, x, -y)
    count = len(xyz)
    for start, end in connections or ():
        check_connection(start, end, count)
        if start in plotted and end in plotted:
            a, b = plotted[start], plotted[end]
            ax.plot3D(
                xs=[a[0], b[0]],
                ys=[a[1], b[1]],
                zs=[a[2], b[2]],
                color=_rgb(connection_drawing_spec.color),
                linewidth=connection_drawing_spec.thickness,
            )
    plt.show()
    return fig


__all__ = [
    "BLACK_COLOR",
    "BLUE_COLOR",
    "GREEN_COLOR",
    "RED_COLOR",
    "WHITE_COLOR",
    "DrawingSpec",
    "draw_landmarks",
    "plot_landmarks",
]

"""Inputs and outputs: photos, videos, cameras and streams (``video`` extra: PyAV), landmark files.

Import the modules themselves (``blazepose.io.video``, ``blazepose.io.landmark_files``, ...):
this package imports none of them, so that no video library loads before it is needed.
"""

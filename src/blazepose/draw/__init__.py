"""Drawing on images from a ``PoseResult``: skeletons in MediaPipe's style, mask overlays, 3D plots."""

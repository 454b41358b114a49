"""MediaPipe's documented Python example runs with only its import line changed."""

import sys
import types

import numpy as np
import pytest

SEED_EXAMPLE = """
import cv2
import blazepose as mp
import numpy as np
mp_drawing = mp.solutions.drawing_utils
mp_drawing_styles = mp.solutions.drawing_styles
mp_pose = mp.solutions.pose

# For static images:
BG_COLOR = (192, 192, 192) # gray
with mp_pose.Pose(
    static_image_mode=True,
    model_complexity=2,
    enable_segmentation=True,
    min_detection_confidence=0.5) as pose:
  for idx, file in enumerate(IMAGE_FILES):
    image = cv2.imread(file)
    image_height, image_width, _ = image.shape
    # Convert the BGR image to RGB before processing.
    results = pose.process(cv2.cvtColor(image, cv2.COLOR_BGR2RGB))

    if not results.pose_landmarks:
      continue
    print(
        f'Nose coordinates: ('
        f'{results.pose_landmarks.landmark[mp_pose.PoseLandmark.NOSE].x * image_width}, '
        f'{results.pose_landmarks.landmark[mp_pose.PoseLandmark.NOSE].y * image_height})'
    )

    annotated_image = image.copy()
    # Draw segmentation on the image.
    condition = np.stack((results.segmentation_mask,) * 3, axis=-1) > 0.1
    bg_image = np.zeros(image.shape, dtype=np.uint8)
    bg_image[:] = BG_COLOR
    annotated_image = np.where(condition, annotated_image, bg_image)
    # Draw pose landmarks on the image.
    mp_drawing.draw_landmarks(
        annotated_image,
        results.pose_landmarks,
        mp_pose.POSE_CONNECTIONS,
        landmark_drawing_spec=mp_drawing_styles.get_default_pose_landmarks_style())
    cv2.imwrite(OUT_DIR + '/annotated_image' + str(idx) + '.png', annotated_image)
    # Plot pose world landmarks.
    mp_drawing.plot_landmarks(
        results.pose_world_landmarks, mp_pose.POSE_CONNECTIONS)

# For webcam input:
cap = cv2.VideoCapture(0)
with mp_pose.Pose(
    min_detection_confidence=0.5,
    min_tracking_confidence=0.5) as pose:
  while cap.isOpened():
    success, image = cap.read()
    if not success:
      print("Ignoring empty camera frame.")
      # If loading a video, use 'break' instead of 'continue'.
      break

    # To improve performance, optionally mark the image as not writeable to
    # pass by reference.
    image.flags.writeable = False
    image = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    results = pose.process(image)

    # Draw the pose annotation on the image.
    image.flags.writeable = True
    image = cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
    mp_drawing.draw_landmarks(
        image,
        results.pose_landmarks,
        mp_pose.POSE_CONNECTIONS,
        landmark_drawing_spec=mp_drawing_styles.get_default_pose_landmarks_style())
    # Flip the image horizontally for a selfie-view display.
    cv2.imshow('MediaPipe Pose', cv2.flip(image, 1))
    if cv2.waitKey(5) & 0xFF == 27:
      break
cap.release()
"""


class FakeCamera:
    """Stands in for cv2.VideoCapture(0): a few frames, then the end."""

    def __init__(self, frames):
        self.frames = list(frames)
        self.opened = True

    def isOpened(self):
        return self.opened

    def read(self):
        if not self.frames:
            return False, None
        return True, self.frames.pop(0)

    def release(self):
        self.opened = False


def test_seed_example_runs_with_only_the_import_changed(astronaut, tmp_path, monkeypatch, capsys):
    import cv2

    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    photo = tmp_path / "astronaut.png"
    bgr = np.ascontiguousarray(astronaut[..., ::-1])
    cv2.imwrite(str(photo), bgr)
    shown = []
    fake_cv2 = types.SimpleNamespace(**{name: getattr(cv2, name) for name in dir(cv2) if not name.startswith("__")})
    fake_cv2.VideoCapture = lambda index: FakeCamera([bgr, np.roll(bgr, 4, axis=1), np.roll(bgr, 8, axis=1)])
    fake_cv2.imshow = lambda name, image: shown.append(image.shape)
    fake_cv2.waitKey = lambda delay: -1
    monkeypatch.setitem(sys.modules, "cv2", fake_cv2)
    exec(SEED_EXAMPLE, {"IMAGE_FILES": [str(photo)], "OUT_DIR": str(tmp_path)})
    assert "Nose coordinates: (" in capsys.readouterr().out
    annotated = cv2.imread(str(tmp_path / "annotated_image0.png"))
    assert annotated.shape == bgr.shape
    assert (annotated == 192).all(axis=2).any()  # the grey background replaced some pixels
    assert shown == [(512, 512, 3)] * 3

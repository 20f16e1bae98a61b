"""Reproduce ``src/neuroface/synthetic/data/base_faces.json`` (dev-only, never imported at runtime).

The two base photographs ship inside installed packages: ``skimage.data.astronaut()`` and
matplotlib's sample ``grace_hopper.jpg``. For each one this script

1. finds the face with dlib's HOG frontal face detector and places the 68 iBUG landmarks with
   dlib's ``shape_predictor_68_face_landmarks.dat`` (shipped by ``face_recognition_models``);
2. segments the head above the jaw angle (hair/hat + face) with OpenCV's GrabCut, seeded with
   the landmark hull as certain foreground (plus hand-placed hints on Grace Hopper's white cap
   crown and the flag beside her, which the colour model otherwise confuses), adds a neck quad
   below the jaw down to ``NECK_CUT`` face heights below the chin and stores the outline;
3. writes the JSON and a check image per face (``/tmp/base_face_<name>.png``) to look at.

The committed JSON was made with dlib 20.0.1, face_recognition_models 0.1.0, OpenCV 4.14.0,
scikit-image 0.26.0 and matplotlib 3.11.2; its landmarks were checked on the overlays and
needed no hand correction. Run it in a throwaway environment (dlib is not a runtime dependency)::

    python -m venv /tmp/dlibenv
    /tmp/dlibenv/bin/pip install dlib-bin face-recognition-models numpy scikit-image \
        matplotlib "opencv-python-headless<5"
    /tmp/dlibenv/bin/python tools/annotate_base_faces.py
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import dlib
import face_recognition_models
import matplotlib
import matplotlib.cbook
import matplotlib.image
import numpy as np
import skimage
import skimage.data

OUT = Path(__file__).resolve().parents[1] / "src/neuroface/synthetic/data/base_faces.json"

#: How far below the chin (in face heights) the stored head outline reaches.
NECK_CUT = 0.75

#: Width of the neck (in face widths) at the cut.
NECK_WIDTH = 0.6

#: Hand-placed certain-foreground polygons (pixels) where GrabCut needs help.
FG_HINTS: dict[str, list[list[list[int]]]] = {
    # The white crown of the cap looks like the flag's white stripes to the colour model, and
    # the cap's navy left side like the flag's blue field.
    "grace_hopper": [
        [[188, 82], [198, 60], [220, 45], [255, 28], [285, 32], [315, 45], [340, 60], [348, 85], [300, 95], [200, 95]],
        [[162, 92], [190, 88], [190, 150], [165, 150]],
    ],
}

#: Hand-placed certain-background polygons (pixels): the flag and fringe left of her hair.
BG_HINTS: dict[str, list[list[list[int]]]] = {
    "grace_hopper": [[[0, 95], [150, 95], [150, 420], [0, 420]]],
}

SOURCES: dict[str, dict[str, str]] = {
    "astronaut": {"loader": "skimage.data.astronaut"},
    "grace_hopper": {"loader": "matplotlib.cbook.get_sample_data", "file": "grace_hopper.jpg"},
}


def load(name: str) -> np.ndarray:
    """The base photo, ``(H, W, 3)`` uint8 RGB."""
    if name == "astronaut":
        return skimage.data.astronaut()
    path = matplotlib.cbook.get_sample_data(SOURCES[name]["file"], asfileobj=False)
    return np.ascontiguousarray(matplotlib.image.imread(path)[:, :, :3])


def landmarks(image: np.ndarray) -> np.ndarray:
    """68 dlib landmarks of the best face, ``(68, 2)`` pixels."""
    detector = dlib.get_frontal_face_detector()
    predictor = dlib.shape_predictor(face_recognition_models.pose_predictor_model_location())
    rects, scores, _ = detector.run(image, 1, 0)
    best = rects[int(np.argmax(scores))]
    shape = predictor(image, best)
    return np.array([[shape.part(i).x, shape.part(i).y] for i in range(68)], dtype=np.float64)


def head_outline(image: np.ndarray, lm: np.ndarray, name: str) -> np.ndarray:
    """Head polygon (hair/hat + face + neck), ``(N, 2)`` pixels.

    Above the jaw angle: GrabCut, seeded with the landmark hull. Below: the landmark hull plus
    a neck quad from jaw points 5-11 down to ``NECK_CUT`` face heights below the chin,
    ``NECK_WIDTH`` face widths wide there.
    """
    h, w = image.shape[:2]
    (x0, y0), (x1, y1) = lm.min(0), lm.max(0)
    fw, fh = x1 - x0, y1 - y0
    mask = np.full((h, w), cv2.GC_BGD, np.uint8)
    rx0, rx1 = max(int(x0 - 0.35 * fw), 0), min(int(x1 + 0.35 * fw), w - 1)
    ry0, ry1 = max(int(y0 - 0.9 * fh), 0), min(int(y1 + 0.1 * fh), h - 1)
    mask[ry0:ry1, rx0:rx1] = cv2.GC_PR_FGD
    for poly in BG_HINTS.get(name, []):
        cv2.fillPoly(mask, [np.array(poly, np.int32)], cv2.GC_BGD)
    hull = cv2.convexHull(lm.astype(np.int32))
    cv2.fillConvexPoly(mask, hull, cv2.GC_FGD)
    for poly in FG_HINTS.get(name, []):
        cv2.fillPoly(mask, [np.array(poly, np.int32)], cv2.GC_FGD)
    bgd, fgd = np.zeros((1, 65)), np.zeros((1, 65))
    cv2.grabCut(image[:, :, ::-1].copy(), mask, None, bgd, fgd, 10, cv2.GC_INIT_WITH_MASK)
    fg = np.isin(mask, (cv2.GC_FGD, cv2.GC_PR_FGD)).astype(np.uint8)
    fg[int(round(max(lm[4, 1], lm[12, 1]))) :] = 0
    cv2.fillConvexPoly(fg, hull, 1)
    chin_x, cut = lm[8, 0], lm[8, 1] + NECK_CUT * fh
    neck = np.vstack([lm[5:12], [[chin_x + NECK_WIDTH / 2 * fw, cut], [chin_x - NECK_WIDTH / 2 * fw, cut]]])
    cv2.fillPoly(fg, [np.round(neck).astype(np.int32)], 1)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))
    fg = cv2.morphologyEx(cv2.morphologyEx(fg, cv2.MORPH_OPEN, kernel), cv2.MORPH_CLOSE, kernel)
    contours, _ = cv2.findContours(fg, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    largest = max(contours, key=cv2.contourArea)
    return cv2.approxPolyDP(largest, 1.0, True)[:, 0, :].astype(np.float64)


def check_image(name: str, image: np.ndarray, lm: np.ndarray, outline: np.ndarray) -> None:
    """Draw landmarks (numbered) and outline on a 3x crop; write ``/tmp/base_face_<name>.png``."""
    k = 3
    big = cv2.resize(image, None, fx=k, fy=k, interpolation=cv2.INTER_CUBIC)[:, :, ::-1].copy()
    cv2.polylines(big, [(k * outline + 1).astype(np.int32)], True, (255, 0, 255), 1, cv2.LINE_AA)
    for i, (x, y) in enumerate(lm):
        centre = (int(k * x + 1), int(k * y + 1))
        cv2.circle(big, centre, 2, (0, 255, 0), -1, cv2.LINE_AA)
        cv2.putText(
            big, str(i), (centre[0] + 3, centre[1] - 2), cv2.FONT_HERSHEY_SIMPLEX, 0.3, (0, 255, 255), 1, cv2.LINE_AA
        )
    cv2.imwrite(f"/tmp/base_face_{name}.png", big)


def main() -> None:
    """Annotate both photos and write the JSON."""
    faces = []
    for name, source in SOURCES.items():
        image = load(name)
        lm = landmarks(image)
        outline = head_outline(image, lm, name)
        check_image(name, image, lm, outline)
        faces.append(
            {
                "name": name,
                "source": source,
                "shape": list(image.shape),
                "landmarks": lm.tolist(),
                "head_outline": outline.tolist(),
                "provenance": (
                    f"landmarks: dlib {dlib.__version__} get_frontal_face_detector (upsample 1) + "
                    "shape_predictor_68_face_landmarks.dat from face_recognition_models "
                    f"{face_recognition_models.__version__}, integer pixel coordinates, checked by "
                    "eye on a drawn overlay; head_outline: OpenCV "
                    f"{cv2.__version__} GrabCut seeded with the landmark hull"
                    + (" and hand-placed hints (cap, flag)" if name in FG_HINTS else "")
                    + f" above the jaw angle, neck quad {NECK_WIDTH} face widths wide down to "
                    f"{NECK_CUT} face heights below the chin, approxPolyDP(1 px). "
                    f"Image from scikit-image {skimage.__version__} / matplotlib "
                    f"{matplotlib.__version__}; see tools/annotate_base_faces.py."
                ),
            }
        )
    doc = {
        "description": "68-point iBUG landmarks (0-based, x right, y down, pixel centres at "
        "integers) and head outlines of the base photographs for "
        "neuroface.synthetic.photo.",
        "faces": faces,
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(doc, indent=1) + "\n")


if __name__ == "__main__":
    main()

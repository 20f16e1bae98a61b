"""A generic face corpus for pre-training the demo FAN, standing in for 300W-style training data.

More identities, poses, lighting and backgrounds than the cohort, healthy expressions only, and
annotated in a slightly different convention than the cohort's annotator (jaw contour, brows,
nose tip and mouth corners placed differently, as annotation protocols of public datasets do),
so that the domain gap the paper fine-tunes across exists in the demo too.

Output: ``images/<id>.jpg`` (square face crops) and ``landmarks.csv`` (``image,x1,y1,...,x68,y68``
in crop pixels, the NeuroFace ``Landmarks_gt`` column order).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
from tqdm import tqdm

from neuroface import landmarks as lm
from neuroface.io import atomic_dir
from neuroface.realsense import geometry
from neuroface.synthetic.cohort import sub_seed
from neuroface.synthetic.face3d import sample_identity
from neuroface.synthetic.generate import sample_rig
from neuroface.synthetic.motion import DiseaseModel, DiseaseParams, simulate
from neuroface.synthetic.photo import GENERIC_LOOKS, FaceRenderer, load_base_faces
from neuroface.synthetic.signs import SignsModel

log = logging.getLogger(__name__)

CROP_SIZE = 256

#: Convention shift of the generic corpus's annotations, per landmark, in units of the outer
#: eye-corner distance, along (outward from the face centre, downward): jaw contour further out,
#: brows on their upper edge, nose tip lower, mouth corners further out.
_SHIFT_OUT = {**{i: 0.05 for i in lm.JAW}, lm.MOUTH_CORNER_R: 0.04, lm.MOUTH_CORNER_L: 0.04}
_SHIFT_DOWN = {**{i: -0.035 for i in lm.BROWS}, lm.NOSE_TIP: 0.03}


def convention_shift(points: np.ndarray) -> np.ndarray:
    """Move true landmarks ``(68, 2)`` px to where the generic corpus's annotators put them."""
    centre = points[list(lm.NOSE)].mean(axis=0)
    eye_axis = points[lm.OUTER_EYE_L] - points[lm.OUTER_EYE_R]
    iod = np.linalg.norm(eye_axis)
    down = np.array([-eye_axis[1], eye_axis[0]]) / iod
    out = points.copy()
    for i, amount in _SHIFT_OUT.items():
        direction = points[i] - centre
        out[i] += amount * iod * direction / np.linalg.norm(direction)
    for i, amount in _SHIFT_DOWN.items():
        out[i] += amount * iod * down
    return out


def _random_expression(
    rng: np.random.Generator, identity: object, groups: Sequence[str] = ("HC",), disease: DiseaseModel | None = None
) -> tuple[np.ndarray, float, DiseaseParams]:
    """Head-frame landmarks ``(68, 3)`` of a face mid-task, a yaw-free camera distance, and the face's
    movement parameters.

    ``groups``: whose movements the corpus's faces make. The default, healthy faces only, is the
    domain gap of real pre-training data (300-W and its kind hold no facial palsy, no bulbar
    weakness): the cohort's patients droop at rest and move less, and more on one side, than any
    face the pre-trained model saw. ``("HC", "PS", "ALS")`` closes the gap (the control): the
    corpus's faces then move as the cohort's groups do, in equal shares, and show their visible
    signs (:mod:`neuroface.synthetic.signs`) as often.
    """
    task = str(rng.choice(["BBP", "OPEN", "SPREAD", "REST"]))
    group = "HC" if tuple(groups) == ("HC",) else str(rng.choice(list(groups)))
    params = (disease or DiseaseModel()).sample(group, rng)
    traj = simulate(identity, params, task, fps=15.0, n_repetitions=1, rng=rng, duration_s=2.0)
    return traj.head[int(rng.integers(len(traj.head)))], float(rng.uniform(300, 900)), params


def _pose(rng: np.random.Generator) -> np.ndarray:
    """Rotation with yaw +-35, pitch +-20, roll +-25 degrees."""
    yaw, pitch, roll = (
        np.radians(rng.uniform(-35, 35)),
        np.radians(rng.uniform(-20, 20)),
        np.radians(rng.uniform(-25, 25)),
    )
    cy, sy, cp, sp, cr, sr = np.cos(yaw), np.sin(yaw), np.cos(pitch), np.sin(pitch), np.cos(roll), np.sin(roll)
    ry = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    rx = np.array([[1, 0, 0], [0, cp, -sp], [0, sp, cp]])
    rz = np.array([[cr, -sr, 0], [sr, cr, 0], [0, 0, 1]])
    return rz @ rx @ ry


def make_corpus(
    n_images: int,
    seed: int,
    out_dir: str | Path,
    progress: bool = True,
    groups: Sequence[str] = ("HC",),
    disease: DiseaseModel | None = None,
) -> None:
    """Write ``n_images`` annotated face crops (deterministic for ``seed``); ``groups``: whose
    movements the faces make (:func:`_random_expression`; healthy only by default)."""
    out = Path(out_dir)
    bases = load_base_faces(include_mirrored=True)
    rows = []
    with atomic_dir(out) as tmp:
        (tmp / "images").mkdir()
        for k in tqdm(range(n_images), desc="generic corpus", disable=not progress, mininterval=5):
            rng = np.random.default_rng(sub_seed(seed, "generic", k))
            identity = sample_identity(rng, str(rng.choice(["F", "M"])))
            head, distance, params = _random_expression(rng, identity, groups, disease)
            rig = sample_rig(rng)
            cam = head @ _pose(rng).T + np.array([rng.normal(0, 40), rng.normal(0, 30), distance])
            pts = geometry.project(cam / 1000.0, rig.color).astype(np.float64)
            appearance = GENERIC_LOOKS.sample(rng)
            base = bases[int(rng.integers(len(bases)))]
            # the signs' own stream, drawn for patients' faces only: the healthy corpus is unchanged by them
            signs = SignsModel().sample(params, np.random.default_rng(sub_seed(seed, "generic signs", k)))
            image = FaceRenderer(base, appearance, signs=signs if signs.any else None).render(pts, rng)
            lo, hi = pts.min(axis=0), pts.max(axis=0)
            side = float((hi - lo).max() * rng.uniform(1.5, 2.1))
            centre = (lo + hi) / 2 + rng.normal(0, 0.06 * side, 2)
            scale = CROP_SIZE / side
            affine = np.array(
                [[scale, 0, CROP_SIZE / 2 - scale * centre[0]], [0, scale, CROP_SIZE / 2 - scale * centre[1]]]
            )
            crop = cv2.warpAffine(
                image, affine, (CROP_SIZE, CROP_SIZE), flags=cv2.INTER_AREA, borderMode=cv2.BORDER_REPLICATE
            )
            label = convention_shift(pts) * scale + affine[:, 2]
            name = f"{k:05d}.jpg"
            cv2.imwrite(
                str(tmp / "images" / name), cv2.cvtColor(crop, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 95]
            )
            rows.append([name, *np.round(label, 2).ravel()])
        columns = ["image"] + [f"{a}{j + 1}" for j in range(lm.N_LANDMARKS) for a in "xy"]
        pd.DataFrame(rows, columns=columns).to_csv(tmp / "landmarks.csv", index=False)
    log.info("generic corpus: %d images in %s", n_images, out)

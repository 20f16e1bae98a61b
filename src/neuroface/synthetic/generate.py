"""Generate the synthetic cohort's files in the real data's formats.

* ``participants.tsv`` / ``recordings.tsv``: the data model's tables;
* ``bags/<recording>.bag``: librealsense-layout recordings (colour RGB8 + depth Z16);
* ``truth/<recording>.npz``: ground truth per colour frame (2D px, 3D mm, repetitions);
* ``segmentation.csv``: NeuroFace CSV with observer jitter;
* ``Landmarks_gt/<recording>.txt``: "manual" annotations with annotator noise.

Every random choice is drawn from a generator seeded by (cohort seed, what it is for), so the
same config gives byte-identical files in any order of execution.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from neuroface import landmarks as lm
from neuroface.io import atomic_dir, atomic_path, write_table
from neuroface.realsense import geometry
from neuroface.realsense.camera import Distortion, Extrinsics, Intrinsics
from neuroface.realsense.writer import BagWriter, StreamSpec
from neuroface.synthetic import depth as depth_render
from neuroface.synthetic.cohort import CohortPlan, sub_seed
from neuroface.synthetic.face3d import sample_identity
from neuroface.synthetic.motion import DiseaseModel, Trajectory, simulate
from neuroface.synthetic.photo import COHORT_LOOKS, Appearance, FaceRenderer, blend_base_faces, load_base_faces
from neuroface.synthetic.signs import ClinicalSigns, SignsModel

log = logging.getLogger(__name__)

ANNOTATOR_NOISE_PX = 1.0  # standard deviation of the "manual" annotations, colour pixels
SEGMENTATION_JITTER = 2  # observer jitter of repetition boundaries, frames (uniform +-)
DROP_PROBABILITY = 0.004  # chance that a colour frame is lost in recording


@dataclass(frozen=True)
class Rig:
    """A RealSense camera as calibrated: intrinsics of both streams and depth-to-colour extrinsics."""

    model: str
    color: Intrinsics
    depth: Intrinsics
    depth_to_color: Extrinsics


#: Camera models: (name, colour stream, depth stream, rotation SD, nominal baseline (m), baseline SD).
#: A stream is (ppx, ppy, f, SD of the principal point, SD of the focal length, distortion model),
#: 640x480 pixels; the SDs are the unit-to-unit calibration spread.
_RIG_MODELS = (
    (
        "Intel RealSense D435",
        (320.0, 240.0, 615.0, 2, 4, Distortion.INVERSE_BROWN_CONRADY),
        (319.5, 239.0, 383.5, 2, 3, Distortion.BROWN_CONRADY),
        (0.001, 0.002, 0.001),
        (0.0148, 0.0, 0.0),
        (2e-4, 1e-4, 3e-4),
    ),
    (
        "Intel RealSense SR300",
        (310.0, 245.0, 617.0, 3, 4, Distortion.BROWN_CONRADY),
        (312.0, 247.0, 475.0, 2, 3, Distortion.INVERSE_BROWN_CONRADY),
        (0.002, 0.003, 0.001),
        (0.0257, 0.0007, 0.004),
        (3e-4, 1e-4, 3e-4),
    ),
)
D435_SHARE = 0.7


def sample_rig(rng: np.random.Generator) -> Rig:
    """A D435- (70 %) or SR300-like camera with unit-to-unit calibration spread (zero distortion
    coefficients, as these cameras' colour streams often report; the model names are kept)."""
    name, color, depth, rot_sd, baseline, baseline_sd = _RIG_MODELS[0 if rng.random() < D435_SHARE else 1]

    def stream(ppx: float, ppy: float, f: float, sd_pp: float, sd_f: float, model: Distortion) -> Intrinsics:
        return Intrinsics(
            640,
            480,
            ppx + rng.normal(0, sd_pp),
            ppy + rng.normal(0, sd_pp),
            f + rng.normal(0, sd_f),
            f + rng.normal(0, sd_f),
            model,
        )

    color_intr, depth_intr = stream(*color), stream(*depth)
    rot = np.append(rng.normal(0.0, rot_sd), 1.0)
    translation = np.asarray(baseline) + rng.normal(0.0, baseline_sd)
    return Rig(name, color_intr, depth_intr, Extrinsics.from_quaternion(rot, translation))


@dataclass(frozen=True)
class Participant:
    """Everything that stays fixed across one participant's recordings."""

    participant_id: str
    group: str
    rig: Rig
    renderer: FaceRenderer | None
    identity: object
    disease: object
    distance_mm: float
    base_face: int = 0
    appearance: Appearance | None = None
    signs: ClinicalSigns | None = None  # visible clinical signs painted on the face (None: none)
    texture: tuple[int, float] = (0, 0.0)  # second base photograph mixed into the face, and its weight


def base_face_assignment(plan: CohortPlan, n_bases: int | None = None) -> dict[str, int]:
    """Base photograph of every participant, balanced across groups.

    Within each group the participants, in a seeded random order, take the base faces in turn
    (from a seeded random starting face), so every base face is used by each group equally
    often, +-1: which photograph a face was warped from says nothing about the group. (Drawn
    independently per participant, 45 draws from 4 faces left one base with 0 ALS and 3 PS.)
    """
    n = n_bases if n_bases is not None else len(load_base_faces(include_mirrored=True))
    out: dict[str, int] = {}
    for group, rows in plan.participants.groupby("group", sort=True):
        rng = np.random.default_rng(sub_seed(plan.seed, "base faces", group))
        order = rng.permutation(sorted(rows["participant_id"]))
        start = int(rng.integers(n))
        out.update({str(pid): (start + k) % n for k, pid in enumerate(order)})
    return out


def participant(plan: CohortPlan, participant_id: str, render: bool = True) -> Participant:
    """Identity, appearance, disease severity and camera of one participant (deterministic);
    ``render=False`` skips building the face renderer (motion and metadata only)."""
    row = plan.participants.set_index("participant_id").loc[participant_id]
    rng = np.random.default_rng(sub_seed(plan.seed, "participant", participant_id))
    base = base_face_assignment(plan)[participant_id]
    appearance = COHORT_LOOKS.sample(rng)
    identity = sample_identity(rng, str(row["sex"]))
    disease = DiseaseModel(**plan.disease).sample(str(row["group"]), rng)
    rig = sample_rig(rng)
    distance = float(rng.uniform(320, 580))
    # the signs' own stream: switching them off changes nothing else
    signs = SignsModel().sample(disease, np.random.default_rng(sub_seed(plan.seed, "signs", participant_id)))
    signs = signs if plan.clinical_signs and signs.any else None
    texture = texture_mix(plan, participant_id, base)
    renderer = None
    if render:
        bases = load_base_faces(include_mirrored=True)
        face = blend_base_faces(bases[base], bases[texture[0]], texture[1])
        renderer = FaceRenderer(face, appearance, signs=signs)
    return Participant(
        participant_id, str(row["group"]), rig, renderer, identity, disease, distance, base, appearance, signs, texture
    )


def texture_mix(plan: CohortPlan, participant_id: str, base: int) -> tuple[int, float]:
    """The second photograph mixed into a participant's face, and its weight (up to one half: the base
    photograph still dominates): the other photograph, mirrored or not, at random, from the texture's own
    stream. With a 3D face shape of its own (:func:`sample_identity`), skin tone and lighting, every
    participant then has a face of their own rather than one of four."""
    rng = np.random.default_rng(sub_seed(plan.seed, "texture", participant_id))
    n_photos = len(load_base_faces(include_mirrored=False))
    other = (base % n_photos + 1 + int(rng.integers(n_photos - 1))) % n_photos
    return other + n_photos * int(rng.integers(2)), float(rng.uniform(0.0, 0.5))


def _recording_motion(
    plan: CohortPlan, recording_id: str, who: Participant, fps: float
) -> tuple[Trajectory, np.random.Generator]:
    """The recording's trajectory at ``fps`` and the recording's generator after it (the rest of
    the recording's random choices continue from it)."""
    rec = plan.recordings.set_index("recording_id").loc[recording_id]
    rng = np.random.default_rng(sub_seed(plan.seed, "recording", recording_id))
    task = str(rec["task"])
    traj = simulate(
        who.identity,
        who.disease,
        task,
        fps=fps,
        n_repetitions=plan.scale.repetitions.get(task, 1),
        rng=rng,
        distance_mm=who.distance_mm,
        facing_camera=bool(rec["faces_camera"]),
        duration_s=plan.scale.rest_seconds,
    )
    return traj, rng


def recording_motion(
    plan: CohortPlan, recording_id: str, fps: float | None = None, who: Participant | None = None
) -> Trajectory:
    """The true landmark trajectory of a recording, sampled at ``fps`` (default: the cohort's):
    the same movements at any frame rate (the signal ladder's R0)."""
    if who is None:
        pid = plan.recordings.set_index("recording_id").at[recording_id, "participant_id"]
        who = participant(plan, str(pid), render=False)
    task = str(plan.recordings.set_index("recording_id").at[recording_id, "task"])
    return _recording_motion(plan, recording_id, who, plan.scale.fps_of(task) if fps is None else fps)[0]


def write_tables(plan: CohortPlan, out_dir: str | Path) -> None:
    """``participants.tsv`` and ``recordings.tsv`` (bag paths relative to the tables)."""
    out = Path(out_dir)
    write_table(
        plan.participants.assign(consent_share=plan.participants["consent_share"].map(str).str.lower()),
        out / "participants.tsv",
    )
    write_table(
        plan.recordings.assign(faces_camera=plan.recordings["faces_camera"].map(str).str.lower()),
        out / "recordings.tsv",
    )


def synthesize_participant(plan: CohortPlan, participant_id: str, out_dir: str | Path, progress: bool = True) -> int:
    """Write ``bags/<recording>.bag`` and ``truth/<recording>.npz`` for each of a participant's
    recordings under ``out_dir``; returns the number of colour frames written."""
    out = Path(out_dir)
    who = participant(plan, participant_id)
    rids = plan.recordings.loc[plan.recordings["participant_id"] == participant_id, "recording_id"]
    return sum(
        synthesize_recording(plan, rid, out / "bags" / f"{rid}.bag", out / "truth" / f"{rid}.npz", progress, who)
        for rid in rids
    )


def synthesize_recording(
    plan: CohortPlan,
    recording_id: str,
    bag_path: str | Path,
    truth_path: str | Path,
    progress: bool = True,
    who: Participant | None = None,
) -> int:
    """Write one recording's ``.bag`` and its ground truth; returns the number of colour frames."""
    rec = plan.recordings.set_index("recording_id").loc[recording_id]
    who = who or participant(plan, str(rec["participant_id"]))
    scale = plan.scale
    task = str(rec["task"])
    fps = scale.fps_of(task)
    traj, rng = _recording_motion(plan, recording_id, who, fps)
    n = len(traj.times_s)
    keep = np.ones(n, dtype=bool)
    keep[1:-1] &= rng.random(n - 2) >= DROP_PROBABILITY  # lost frames keep their numbers' gap
    first_number = int(rng.integers(1000, 50000))
    t0_ms = float(rng.uniform(1e5, 1e6))
    numbers = first_number + np.arange(n)
    stamps = t0_ms + traj.times_s * 1000.0 + rng.normal(0, 0.05, n)
    depth_numbers = int(rng.integers(1000, 50000)) + np.arange(n)
    rig = who.rig
    pts2d = geometry.project(traj.camera / 1000.0, rig.color).astype(np.float64)
    scene = depth_render.DepthScene(rig.depth, rig.depth_to_color.inverse())
    tris = depth_render.triangles(who.identity.landmarks)
    device = {"Name": rig.model, "Serial Number": f"{sub_seed(plan.seed, 'serial', who.participant_id) % 10**12:012d}"}
    frames = np.flatnonzero(keep)
    with BagWriter(
        bag_path,
        StreamSpec(rig.color, int(round(fps))),
        StreamSpec(rig.depth, int(round(fps))),
        rig.depth_to_color,
        0.001,
        device_info=device,
    ) as writer:
        for i in tqdm(frames, desc=recording_id, disable=not progress, mininterval=5):
            writer.write_depth(
                int(depth_numbers[i]), float(stamps[i]), depth_render.render_depth(traj.camera[i], tris, scene, rng)
            )
            writer.write_color(int(numbers[i]), float(stamps[i]), who.renderer.render(pts2d[i], rng))
    position = np.cumsum(keep)  # 1-based position of each simulated frame among the kept ones
    reps = np.array(
        [(position[s] if keep[s] else position[s] + 1, position[e]) for s, e in traj.repetitions], dtype=np.int64
    ).reshape(-1, 2)
    with atomic_path(truth_path) as tmp, open(tmp, "wb") as fh:
        np.savez_compressed(
            fh,
            frame_number=numbers[keep],
            timestamp_ms=stamps[keep],
            landmarks_2d=pts2d[keep].astype(np.float32),
            landmarks_3d=traj.camera[keep].astype(np.float32),
            repetitions=reps,
            group=who.group,
            task=task,
        )
    return int(keep.sum())


def write_labels(
    plan: CohortPlan, truth_files: dict[str, str | Path], segmentation_csv: str | Path, annotation_dir: str | Path
) -> None:
    """NeuroFace-style segmentation (with observer jitter) and manual annotations (with noise).

    Annotated frames per participant are spread over their recordings and, within each, over
    the range of mouth opening, as the paper's annotators chose frames covering the gestures.
    """
    seg_rows = []
    out_dir = Path(annotation_dir)
    per_participant: dict[str, list[str]] = {}
    for rid in sorted(truth_files):
        per_participant.setdefault(rid.split("_")[0], []).append(rid)
    staged: dict[str, pd.DataFrame] = {}
    for pid, rids in sorted(per_participant.items()):
        rng = np.random.default_rng(sub_seed(plan.seed, "labels", pid))
        quota = np.full(len(rids), plan.scale.annotations_per_participant // len(rids))
        quota[: plan.scale.annotations_per_participant % len(rids)] += 1
        for rid, k in zip(rids, quota, strict=True):
            truth = np.load(truth_files[rid])
            n = len(truth["frame_number"])
            for r, (start, end) in enumerate(truth["repetitions"], start=1):
                s = int(np.clip(start + rng.integers(-SEGMENTATION_JITTER, SEGMENTATION_JITTER + 1), 1, n))
                e = int(np.clip(end + rng.integers(-SEGMENTATION_JITTER, SEGMENTATION_JITTER + 1), s, n))
                seg_rows.append((f"{rid}_color.avi", r, e - s + 1, s, e))
            pts = truth["landmarks_2d"].astype(np.float64)
            opening = np.linalg.norm(pts[:, lm.INNER_UPPER_LIP] - pts[:, lm.INNER_LOWER_LIP], axis=1)
            order = np.argsort(opening, kind="stable")
            picks = np.unique(order[np.linspace(0, n - 1, min(k, n)).round().astype(int)])
            noisy = pts[picks] + rng.normal(0, ANNOTATOR_NOISE_PX, pts[picks].shape)
            cols = {"Frame": picks + 1}
            for j in range(lm.N_LANDMARKS):
                cols[f"x{j + 1}"] = np.round(noisy[:, j, 0], 2)
                cols[f"y{j + 1}"] = np.round(noisy[:, j, 1], 2)
            staged[rid] = pd.DataFrame(cols)
    seg = pd.DataFrame(seg_rows, columns=["File Name", "repID", "Number of Frames", "start", "end"])
    # Repetitions jittered into each other are clipped apart, as an observer would mark them.
    for _, idx in seg.groupby("File Name").groups.items():
        rows = seg.loc[idx].sort_values("start")
        prev_end = 0
        for i, row in rows.iterrows():
            start = max(int(row["start"]), prev_end + 1)
            end = max(int(row["end"]), start)
            seg.loc[i, ["start", "end", "Number of Frames"]] = (start, end, end - start + 1)
            prev_end = end
    write_table(seg, segmentation_csv)
    with atomic_dir(out_dir) as tmp:
        for rid, table in staged.items():
            table.to_csv(tmp / f"{rid}.txt", index=False)
    log.info(
        "segmentation: %d repetitions; annotations: %d frames in %d recordings",
        len(seg),
        sum(len(t) for t in staged.values()),
        len(staged),
    )


def identity_table(plan: CohortPlan) -> pd.DataFrame:
    """Per participant the static identity a face carries into every frame, nothing that moves: the
    base photograph (one-hot), the second photograph's weight in the face (per photograph), skin tone,
    lighting, sensor noise, camera distance and model, and face size. For the identity-only classifier
    of the signal ladder (columns participant_id, group, then numbers). The clinical signs are not
    identity: they are the disease's, and switched off by ``synthetic.clinical_signs``."""
    n_bases = len(load_base_faces(include_mirrored=True))
    rows = []
    for pid in plan.participants["participant_id"]:
        who = participant(plan, str(pid), render=False)
        app = who.appearance
        rows.append(
            {
                "participant_id": who.participant_id,
                "group": who.group,
                **{f"base_face_{k}": float(who.base_face == k) for k in range(n_bases)},
                **{f"mixed_face_{k}": who.texture[1] * (who.texture[0] == k) for k in range(n_bases)},
                **{f"skin_gain_{c}": g for c, g in zip("rgb", app.skin_gain, strict=True)},
                "brightness": app.brightness,
                "light_x": app.light_strength * np.cos(app.light_angle),
                "light_y": app.light_strength * np.sin(app.light_angle),
                "noise_sigma": app.noise_sigma,
                "distance_mm": who.distance_mm,
                "face_scale": who.identity.scale,
                "camera_d435": float("D435" in who.rig.model),
            }
        )
    return pd.DataFrame(rows)

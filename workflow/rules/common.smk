# Helpers shared by all rule files. Config validation, the cohort tables the DAG is built
# from, and input functions. Nothing here reads a recording.

import sys
from pathlib import Path

from snakemake.utils import validate

sys.path.insert(0, str(Path(workflow.basedir) / "src"))

from neuroface.errors import InputError  # noqa: E402
from neuroface import tables  # noqa: E402
from neuroface.synth.cohort import RECORDING_SUFFIXES, plan_cohort  # noqa: E402
from neuroface.fan import weights as fan_weights  # noqa: E402

validate(config, schema="../schemas/config.schema.yaml", set_default=True)

SYNTHETIC = config["cohort"]["source"] == "synthetic"
SYNTH_DIR = config["synthetic"]["out_dir"]
FRAME_IMAGES = None if SYNTHETIC else config["cohort"].get("frames")


def _cohort_tables():
    """Participants and recordings: planned (synthetic) or read and validated (files)."""
    if SYNTHETIC:
        plan = plan_cohort(config["synthetic"])
        recordings = plan.recordings.assign(
            bag=[f"{SYNTH_DIR}/{b}" for b in plan.recordings["bag"]]
        )
        return plan.participants, recordings
    cohort = config["cohort"]
    missing = [
        k
        for k in ("participants", "recordings", "segmentation", "annotations")
        if not cohort.get(k)
    ]
    if missing:
        raise InputError(
            "config.yaml",
            f"cohort.source is 'files' but cohort.{', cohort.'.join(missing)} not set",
        )
    participants = tables.read_participants(cohort["participants"])
    return participants, tables.read_recordings(cohort["recordings"], participants)


try:
    PARTICIPANTS, RECORDINGS = _cohort_tables()
except InputError as err:
    raise WorkflowError(f"Invalid input: {err}") from None

RECORDING_IDS = sorted(RECORDINGS["recording_id"])


def _pretrained_weights():
    """(pre-train here?, path of the pre-trained weights); stops before any job when the
    weights are neither present nor downloadable."""
    pretrained = config["fan"]["pretrained"]
    if pretrained["source"] == "train":
        if not SYNTHETIC:
            raise WorkflowError(
                "fan.pretrained.source 'train' pre-trains on the synthetic generic corpus, which needs "
                "cohort.source 'synthetic'; for the lab's data use source 'file' (2DFAN-4)"
            )
        return True, "results/fan/pretrained.pth"
    try:
        return False, str(fan_weights.locate_pretrained(pretrained["path"]))
    except InputError as err:
        if pretrained["download"] and fan_weights.url_reachable():
            return False, pretrained["path"] or str(fan_weights.hub_cache_path())
        raise WorkflowError(f"{err}") from None


PRETRAIN_FAN, PRETRAINED_WEIGHTS = _pretrained_weights()
PARTICIPANT_IDS = sorted(RECORDINGS["participant_id"].unique())
MODELS = ("pretrained", "finetuned")
CLASSIFICATION_TASKS = ("BBP", "OPEN", "SPREAD")


def _tracked_recordings():
    """Recordings the video stage processes (config tracking.recordings)."""
    if config["tracking"]["recordings"] == "all":
        return RECORDING_IDS
    consent = dict(
        zip(PARTICIPANTS["participant_id"], PARTICIPANTS["consent_share"], strict=True)
    )
    keep = RECORDINGS["faces_camera"] & RECORDINGS["task"].isin(CLASSIFICATION_TASKS)
    keep &= RECORDINGS["participant_id"].map(consent).astype(bool)
    return sorted(RECORDINGS.loc[keep, "recording_id"])


TRACKED_RECORDINGS = _tracked_recordings()


def cohort_table(name):
    """Path of an input table: the synthetic cohort's or the lab's (config cohort.<name>)."""
    if SYNTHETIC:
        synthetic = {
            "participants": "participants.tsv",
            "recordings": "recordings.tsv",
            "segmentation": "segmentation.csv",
            "annotations": "Landmarks_gt",
        }
        return f"{SYNTH_DIR}/{synthetic[name]}"
    return config["cohort"][name]


def recording_bag(wildcards):
    """The .bag file of the recording named by the ``recording`` wildcard."""
    return RECORDINGS.set_index("recording_id").loc[wildcards.recording, "bag"]


def participant_recordings(wildcards):
    """Recording id -> .bag path, for one participant's recordings."""
    rows = RECORDINGS[RECORDINGS["participant_id"] == wildcards.participant]
    return dict(zip(rows["recording_id"], rows["bag"], strict=True))


def model_weights(wildcards):
    """Weights file of the model named by the ``model`` wildcard."""
    return (
        PRETRAINED_WEIGHTS
        if wildcards.model == "pretrained"
        else "results/fan/finetuned.pth"
    )


def final_outputs():
    outputs = [
        "results/inputs/segmentation.tsv",
        "results/tables/table3.tsv",
        "results/figures/fig2.pdf",
        *expand(
            "results/landmarks3d/{model}/{recording}.parquet",
            model=MODELS,
            recording=TRACKED_RECORDINGS,
        ),
    ]
    if SYNTHETIC:
        outputs.append("results/tracking/accuracy.tsv")
    return outputs

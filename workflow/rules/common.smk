# Helpers shared by all rule files. Config validation, the cohort tables the DAG is built
# from, and input functions. Nothing here reads a recording.

import sys
from pathlib import Path

from snakemake.utils import validate

sys.path.insert(0, str(Path(workflow.basedir) / "src"))

from neuroface.errors import InputError  # noqa: E402
from neuroface import tables  # noqa: E402
from neuroface.synth.cohort import RECORDING_SUFFIXES, plan_cohort  # noqa: E402

validate(config, schema="../schemas/config.schema.yaml", set_default=True)

SYNTHETIC = config["cohort"]["source"] == "synthetic"
SYNTH_DIR = config["synthetic"]["out_dir"]


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
PARTICIPANT_IDS = sorted(RECORDINGS["participant_id"].unique())


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


def participant_recordings(wildcards):
    """Recording id -> .bag path, for one participant's recordings."""
    rows = RECORDINGS[RECORDINGS["participant_id"] == wildcards.participant]
    return dict(zip(rows["recording_id"], rows["bag"], strict=True))


def final_outputs():
    outputs = ["results/inputs/segmentation.tsv", "results/inputs/annotations.parquet"]
    if SYNTHETIC:
        outputs.append(f"{SYNTH_DIR}/generic")
    return outputs

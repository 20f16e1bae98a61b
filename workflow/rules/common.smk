# Helpers shared by all rule files. Config validation, the cohort tables the DAG is built
# from, and input functions. Nothing here reads a recording: every check that needs no .bag
# runs here, when the DAG is built, before any job (see README "Running on the lab's data").

import re
import sys
from contextlib import contextmanager
from pathlib import Path

from snakemake.utils import validate

sys.path.insert(0, str(Path(workflow.basedir) / "src"))

from neuroface.errors import InputError  # noqa: E402
from neuroface.inputs import tables  # noqa: E402
from neuroface.inputs.annotated import (
    composition_arm,
    crossfit_folds,
    crossfit_problems,
    curve_arm,
    split_problems,
)  # noqa: E402
from neuroface.classification.forest import check_forest_params  # noqa: E402
from neuroface.synthetic.cohort import RECORDING_SUFFIXES, plan_cohort  # noqa: E402
from neuroface.fan import weights as fan_weights  # noqa: E402
from neuroface.fan.architecture import FANConfig  # noqa: E402
from neuroface.features import registry as feature_registry  # noqa: E402
from neuroface.features.exclusions import (
    CLASSIFICATION_TASKS,
    classification_mask,
)  # noqa: E402

validate(config, schema="../schemas/config.schema.yaml", set_default=True)
try:  # what the schema cannot say: input_size against depth (FAN's own check, without torch)
    FANConfig(**config["fan"]["architecture"])
except ValueError as err:
    raise WorkflowError(f"config fan.architecture: {err}") from None

SYNTHETIC = config["cohort"]["source"] == "synthetic"
SYNTH_DIR = config["synthetic"]["out_dir"]
# config synthetic as the synthetic rules' params: without keep_bags, which changes no file's
# contents, so that switching it reruns nothing
SYNTHETIC_CONFIG = {k: v for k, v in config["synthetic"].items() if k != "keep_bags"}
FRAME_IMAGES = None if SYNTHETIC else config["cohort"].get("frames")
if FRAME_IMAGES and not Path(FRAME_IMAGES).is_dir():
    raise WorkflowError(
        f"config cohort.frames: {FRAME_IMAGES} is not a directory (the annotated frames' images)"
    )


def _cohort_tables():
    """Participants, recordings and the ids of the participants with annotated frames: planned
    (synthetic), or read from the lab's files with every table's contents validated
    (segmentation and annotations too; their frame ranges need the bags: validate_inputs).
    """
    if SYNTHETIC:
        plan = plan_cohort(config["synthetic"])
        recordings = plan.recordings.assign(
            bag=[f"{SYNTH_DIR}/{b}" for b in plan.recordings["bag"]]
        )
        annotated = (
            set(recordings["participant_id"])
            if plan.scale.annotations_per_participant > 0
            else set()
        )
        return plan.participants, recordings, annotated
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
    recordings = tables.read_recordings(cohort["recordings"], participants)
    tables.read_segmentation(cohort["segmentation"], recordings)
    annotations = tables.read_annotation_dir(cohort["annotations"], recordings)
    return participants, recordings, set(annotations["participant_id"])


try:
    PARTICIPANTS, RECORDINGS, ANNOTATED_PARTICIPANTS = _cohort_tables()
except InputError as err:
    raise WorkflowError(f"Invalid input: {err}") from None

RECORDING_IDS = sorted(RECORDINGS["recording_id"])


def one_of(ids):
    """A wildcard constraint matching exactly these ids (ids are opaque: dots match only dots)."""
    return "|".join(re.escape(i) for i in ids)


def _check_split():
    """Stop before any job when a group has too few participants with annotated frames for
    fan.train_participants_per_group to train on and at least one to test on."""
    problems = split_problems(
        dict(zip(PARTICIPANTS["participant_id"], PARTICIPANTS["group"])),
        ANNOTATED_PARTICIPANTS,
        config["fan"]["train_participants_per_group"],
    )
    if problems:
        raise WorkflowError(
            f"config fan.train_participants_per_group: {'; '.join(problems)}"
        )


_check_split()


@contextmanager
def _stops_before_any_job():
    """A check's InputError (file and problem) stops the run while the DAG is built."""
    try:
        yield
    except InputError as err:
        raise WorkflowError(f"{err}") from None


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
    path = pretrained["path"]
    shipped = Path(workflow.basedir) / path if path else None
    if (
        path
        and not Path(path).is_absolute()
        and not Path(path).exists()
        and shipped.exists()
    ):
        path = str(
            shipped
        )  # a file shipped with the workflow (resources/), run from elsewhere
    try:
        located = fan_weights.locate_pretrained(path)
    except InputError as err:  # missing: downloaded by a job when allowed and reachable
        if pretrained["download"] and fan_weights.url_reachable():
            return False, pretrained["path"] or str(fan_weights.hub_cache_path())
        raise WorkflowError(f"{err}") from None
    # present: checked here, never replaced by a download (the download rule would not run)
    with _stops_before_any_job():
        fan_weights.verify_checksum(
            located, pretrained["sha256"], "fan.pretrained.sha256"
        )
    return False, str(located)


PRETRAIN_FAN, PRETRAINED_WEIGHTS = _pretrained_weights()


def _check_finetuning_stacks():
    """Fine-tuning cannot train more stacks than the pre-trained FAN has: fan.architecture's when
    pre-trained here, else the weights file's (its sidecar, or 2DFAN-4's 4 stacks)."""
    if PRETRAIN_FAN:
        stacks, which = config["fan"]["architecture"]["stacks"], "fan.architecture"
    else:
        with _stops_before_any_job():
            stacks = fan_weights.file_architecture(PRETRAINED_WEIGHTS).stacks
        which = f"the pre-trained FAN ({PRETRAINED_WEIGHTS})"
    if config["fan"]["finetuning"]["stacks"] > stacks:
        raise WorkflowError(
            f"config fan.finetuning.stacks: {config['fan']['finetuning']['stacks']} stacks to fine-tune, "
            f"but {which} has {stacks}"
        )


_check_finetuning_stacks()


def _check_face_detector():
    """S3FD's weights, with tracking.detector sfd: found and checked before any job, as the
    pre-trained FAN's are (an explicit tracking.sfd.path never falls back to the cache).
    """
    sfd = config["tracking"]["sfd"]
    if config["tracking"]["detector"] == "sfd":
        with _stops_before_any_job():
            fan_weights.verify_checksum(
                fan_weights.locate_sfd(sfd["path"]),
                sfd["sha256"],
                "tracking.sfd.sha256",
            )


_check_face_detector()
PARTICIPANT_IDS = sorted(RECORDINGS["participant_id"].unique())
# the study's two models (Table III, Fig. 2, QC, outliers)
MODELS = ("pretrained", "finetuned")

#: Settings under fan that every FAN training job reads: neuroface.fan.train.training_config's, and cpu_isa, which
#: the job's kernels follow (workflow/scripts/_bootstrap.py).
FAN_TRAINING_SHARED = (
    "seed",
    "threads",
    "device",
    "workers",
    "mixed_precision",
    "cpu_isa",
)


def fan_training_params(stage):
    """What a FAN training job reads of config fan, as its params: the stage's section (pretraining or
    finetuning), the architecture when pre-training, and the shared settings. Only these, so that a setting
    the job does not read (the other stage's epochs, the decoder, cross-fitting's folds) reruns nothing: with
    all of fan as params, a longer fine-tuning re-made the pre-trained FAN first."""
    fan = config["fan"]
    own = {stage: fan[stage]}
    if stage == "pretraining":
        own["architecture"] = fan["architecture"]
    return {**own, **{key: fan[key] for key in FAN_TRAINING_SHARED}}


def _crossfit():
    """participant id -> cross-fitting fold (empty when fan.crossfit.folds is 0); stops before any
    job when the cohort cannot be split into that many stratified folds."""
    folds = config["fan"]["crossfit"]["folds"]
    problems = crossfit_problems(
        dict(zip(PARTICIPANTS["participant_id"], PARTICIPANTS["group"])),
        ANNOTATED_PARTICIPANTS,
        folds,
    )
    if problems:
        raise WorkflowError(f"config fan.crossfit.folds: {'; '.join(problems)}")
    if folds == 0:
        return {}
    table = crossfit_folds(PARTICIPANTS, folds, config["fan"]["seed"])
    return dict(zip(table["participant_id"], table["fold"].astype(int)))


FOLD_OF = _crossfit()
FOLDS = sorted(set(FOLD_OF.values()))
# every model that tracks the videos: the study's two and, with cross-fitting, finetuned_cf (each
# recording tracked by the fold model that never saw its participant)
TRACKING_MODELS = (*MODELS, "finetuned_cf") if FOLDS else MODELS
# what reconstruct_3d reads from the depth stream: the tracking models' median-filtered tracks and,
# on the synthetic cohort, the ladder's R2, the true 2D median-filtered the same way: the fair
# ceiling goes through the models' very job and pass over each bag
RECONSTRUCTED = (*TRACKING_MODELS, "true2d") if SYNTHETIC else TRACKING_MODELS
# landmark sources of the features: the tracking models, and on the synthetic cohort the signal
# ladder's true2d (R2: true 2D through the models' path, the fair ceiling) and true3d (R1: true 3D)
SOURCES = (*TRACKING_MODELS, "true2d", "true3d") if SYNTHETIC else TRACKING_MODELS
CLASSIFIED_RECORDINGS = sorted(
    RECORDINGS.loc[classification_mask(PARTICIPANTS, RECORDINGS), "recording_id"]
)
# config tracking.recordings: the classified recordings, or all
TRACKED_RECORDINGS = (
    RECORDING_IDS
    if config["tracking"]["recordings"] == "all"
    else CLASSIFIED_RECORDINGS
)
# Tracking, 3D and QC run one job per participant: participant -> its tracked recording ids
# (sorted), the order of the rows of its track and 3D files and of its QC videos
TRACKED_BY_PARTICIPANT = {
    p: sorted(rows["recording_id"])
    for p, rows in RECORDINGS[
        RECORDINGS["recording_id"].isin(TRACKED_RECORDINGS)
    ].groupby("participant_id")
}
TRACKED_PARTICIPANTS = sorted(TRACKED_BY_PARTICIPANT)
PARTICIPANT_OF = dict(
    zip(RECORDINGS["recording_id"], RECORDINGS["participant_id"], strict=True)
)
# the participants with a classified recording: the files the ladder reads
CLASSIFIED_PARTICIPANTS = sorted({PARTICIPANT_OF[r] for r in CLASSIFIED_RECORDINGS})


def _check_feature_config():
    """Stop before any job when a feature set names an unknown feature, or a run an unknown
    set or group."""
    sets = config["features"]["sets"]
    try:
        for names in sets.values():
            feature_registry.check_names(names)
    except ValueError as err:
        raise WorkflowError(f"config features.sets: {err}") from None
    groups = set(PARTICIPANTS["group"])
    for comparison, (disease, feature_set) in config["classification"]["runs"].items():
        if feature_set not in sets:
            raise WorkflowError(
                f"config classification.runs.{comparison}: no feature set {feature_set!r} in features.sets"
            )
        if disease not in groups or "HC" not in groups:
            raise WorkflowError(
                f"config classification.runs.{comparison}: the cohort has no group {disease!r} (or HC)"
            )
    try:
        check_forest_params(config["classification"]["random_forest"])
    except ValueError as err:
        raise WorkflowError(f"config classification.random_forest: {err}") from None


_check_feature_config()
FEATURE_SETS = config["features"]["sets"]
RUNS = config["classification"]["runs"]
# (task, feature set) of every feature table a source gets
FEATURE_KEYS = [(t, s) for t in CLASSIFICATION_TASKS for s in FEATURE_SETS]
# Figs. 3, 4, ...: one per comparison, in config order (HC vs PS, HC vs ALS)
FIGURES = {f"fig{3 + i}": comparison for i, comparison in enumerate(RUNS)}


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


def tracked_bags(wildcards):
    """The .bag files of one participant's tracked recordings, in TRACKED_BY_PARTICIPANT order."""
    bags = RECORDINGS.set_index("recording_id")["bag"]
    return [bags[r] for r in TRACKED_BY_PARTICIPANT[wildcards.participant]]


def participant_recordings(wildcards):
    """Recording id -> .bag path, for one participant's recordings."""
    rows = RECORDINGS[RECORDINGS["participant_id"] == wildcards.participant]
    return dict(zip(rows["recording_id"], rows["bag"], strict=True))


# the study's two models' weights, by model name
STUDY_WEIGHTS = {
    "pretrained": PRETRAINED_WEIGHTS,
    "finetuned": "results/fan/finetuned.pth",
}


def fold_training_participants(fold):
    """The participants whose annotated frames fine-tune fold ``fold``'s model: every annotated
    participant outside the fold."""
    return sorted(p for p in ANNOTATED_PARTICIPANTS if FOLD_OF[p] != int(fold))


def tracking_weights(wildcards):
    """Model name -> weights for tracking one participant's recordings: the study's two models
    and, with cross-fitting, the model of the participant's fold."""
    weights = dict(STUDY_WEIGHTS)
    if FOLDS:
        fold = FOLD_OF[wildcards.participant]
        weights["finetuned_cf"] = f"results/fan/crossfit/fold{fold}.pth"
    return weights


def crossfit_accuracy_weights(wildcards):
    """Weights for the cross-fitted accuracy: the study's two models and every fold's model
    (named ``fold<k>``)."""
    return {
        **STUDY_WEIGHTS,
        **{f"fold{k}": f"results/fan/crossfit/fold{k}.pth" for k in FOLDS},
    }


def feature_track_files(source):
    """The file holding each classified recording's 3D landmarks from one source (a model, or the
    truth), in CLASSIFIED_RECORDINGS order: the truth's per recording, a model's (and R2's) per
    participant."""
    if source == "true3d":
        return [f"{SYNTH_DIR}/truth/{r}.npz" for r in CLASSIFIED_RECORDINGS]
    return [
        f"results/landmarks3d/{source}/{PARTICIPANT_OF[r]}.parquet"
        for r in CLASSIFIED_RECORDINGS
    ]


def feature_tracks(wildcards):
    """The files feature_track_files names, each once."""
    return list(dict.fromkeys(feature_track_files(wildcards.source)))


def classified_recordings():
    """recording_id, participant_id, group and task of the classified recordings."""
    rows = RECORDINGS[RECORDINGS["recording_id"].isin(CLASSIFIED_RECORDINGS)]
    rows = rows.merge(PARTICIPANTS[["participant_id", "group"]], on="participant_id")
    return rows[["recording_id", "participant_id", "group", "task"]].to_dict("records")


def feature_table(source, task, feature_set):
    return f"results/features/{source}/{task}.{feature_set}.tsv"


def final_outputs():
    outputs = [
        "results/inputs/segmentation.tsv",
        "results/tables/table3.tsv",
        "results/figures/fig2.pdf",
        "results/tables/table2.tsv",
        "results/tables/exclusions.tsv",
        *expand("results/figures/{figure}.pdf", figure=FIGURES),
        *expand(
            "results/landmarks3d/{model}/{participant}.parquet",
            model=TRACKING_MODELS,
            participant=TRACKED_PARTICIPANTS,
        ),
    ]
    if FOLDS:
        outputs += [
            "results/tables/table3_crossfit.tsv",
            "results/figures/fig2_crossfit.pdf",
        ]
    if SYNTHETIC:
        outputs += [
            "results/tracking/accuracy.tsv",
            "results/tables/ladder.md",
            "results/figures/ladder.pdf",
        ]
    return outputs


def synthetic_bags(paths):
    """The synthetic cohort's bag outputs: temp() unless config synthetic.keep_bags, so that
    Snakemake deletes each once every job of the run that reads it has finished (the lab's
    recordings are no rule's output: never deleted)."""
    return paths if config["synthetic"]["keep_bags"] else temp(paths)


def cap_local_cores():
    """On this machine, run at most as many cores' worth of jobs at once as it has CPUs, whatever
    --cores says (config execution.cap_cores; local runs only, a cluster's jobs are not touched):
    every job of this workflow is CPU-bound, so jobs beyond the CPUs only share them, and sharing
    costs CPU time (README "What exists today": the default run with --cores 8 on 2 CPUs against
    --cores 2). Rules' threads are capped with it (Snakemake caps them at the cores)."""
    from snakemake.logging import logger
    from snakemake.utils import available_cpu_count

    cores = workflow._cores
    if not (config["execution"]["cap_cores"] and workflow.local_exec and cores):
        return
    cpus = available_cpu_count()
    if cores > cpus:
        logger.info(
            f"--cores {cores} > the {cpus} CPUs this process may use: at most {cpus} cores' worth "
            "of jobs at once (execution.cap_cores: false keeps --cores as given)"
        )
        workflow.global_resources["_cores"] = cpus


def preflight_estimate(cores):
    """Log the pre-flight estimate of disk and CPU time (neuroface.scale); an estimate that
    cannot be made is a warning, never a failed run."""
    from snakemake.logging import logger
    from neuroface.scale import preflight

    try:
        logger.info(preflight(config, cores or None))
    except Exception as err:  # noqa: BLE001 - an estimate must not stop the run
        logger.warning(f"Pre-flight estimate unavailable: {type(err).__name__}: {err}")


# the fine-tuning data ablation (ablation.smk)
ABLATION = config["ablation"]
ABLATION_ARMS = [composition_arm(c) for c in ABLATION["compositions"]] + [
    curve_arm(m) for m in ABLATION["participants_per_group"]
]


def ablation_weights(arm):
    """An arm's fine-tuned weights: the learning curve's point at
    fan.train_participants_per_group trains on exactly the split's training participants, so it is
    the study's fine-tuned model."""
    if arm == curve_arm(config["fan"]["train_participants_per_group"]):
        return "results/fan/finetuned.pth"
    return f"results/ablation/{arm}.pth"


def ablation_checked(wildcards):
    """The split, once the learning curve's points are checked against the split (only when the
    ablation is asked for)."""
    per_group = config["fan"]["train_participants_per_group"]
    if too_many := [m for m in ABLATION["participants_per_group"] if m > per_group]:
        raise WorkflowError(
            f"config ablation.participants_per_group: {too_many} exceed fan.train_participants_per_group "
            f"= {per_group}, the training participants each group has"
        )
    return "results/fan/split.tsv"

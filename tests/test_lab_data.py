"""The lab's data: lab-style cohorts (``cohort.source: files``) derived from one tiny synthetic run.

One run of the tiny config (``tests/configs/tiny.yaml``, conftest's session fixture ``tiny``) provides
NeuroFace-style tables, ``.bag`` recordings, labels and a pre-trained FAN. From its files each test writes a lab
cohort the way a lab would hand it over, one change at a time, and runs the workflow on it:

* **relabelled** (run to the end, once): participant ids with ``_`` (``lab_01_p``), recording ids without a
  participant prefix (``rec001``), with dots (``rec002.v2``) and dashes (``rec003-take-2``), annotation files named
  ``<id>_color.txt`` for some, and one extra participant whose recordings are all unusable (facing away, no consent
  to share, no annotations). The ids keep the synthetic ids' sort order, so every table must equal the synthetic
  run's once the ids are mapped back: the fine-tuning split, per-image accuracy, Table III, tracks, features,
  dropped repetitions, classification probabilities and the QC table.
* **bad tables or config** (dry runs, ``-n``): a backwards segment, an annotation row with 135 coordinates, a NaN
  coordinate, a forest typo (``min_sample_leaf``), a weights path typo with a cached 2DFAN-4 present, too few
  participants with annotations for the split, a recording id pandas would read as a number. Each stops while the
  DAG is built, names the file and line or the config key, and leaves no ``results/``.
* **bad bags** (real runs): a bag of random bytes, a segment past the recording's last frame. Each fails its first
  job (``frame_index``, ``validate_inputs``) with one line on the console naming file (and line) and problem, no
  tracking or fine-tuning job starts, and nothing partial is left.

On the commit before these changes every case fails (see each test's docstring).
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from neuroface.tracks import read_recordings
from workflow_runs import REPO, TINY_CONFIG, Run, run, stray_files

RUN_TIMEOUT_S = 1800  # a whole tiny run, on a loaded machine
#: Rules that must never start on bad input (the CNN stage and what feeds it).
EXPENSIVE_RULES = frozenset({"annotated_frames", "finetune_fan", "landmark_accuracy", "track_landmarks"})
MODELS = ("pretrained", "finetuned")


# -- lab cohorts made from the tiny run's files ----------------------------------------------------------------


@dataclass
class Cohort:
    """A lab cohort in ``workdir``: its tables, and the ids it gave the synthetic participants and recordings."""

    workdir: Path
    participants: Path
    recordings: Path
    segmentation: Path
    annotations: Path
    pid: dict[str, str]  # synthetic -> lab participant id
    rid: dict[str, str]  # synthetic -> lab recording id

    def config(self, **changes) -> None:
        """Change config keys given as ``section__key=value`` (``fan__pretrained__path=...`` for deeper keys)."""
        path = self.workdir / "config.yaml"
        cfg = yaml.safe_load(path.read_text())
        for dotted, value in changes.items():
            *sections, key = dotted.split("__")
            node = cfg
            for section in sections:
                node = node[section]
            node[key] = value
        path.write_text(yaml.safe_dump(cfg, sort_keys=False))

    def annotation_file(self, synthetic_rid: str) -> Path:
        new = self.rid[synthetic_rid]
        return next(p for p in (self.annotations / f"{new}.txt", self.annotations / f"{new}_color.txt") if p.exists())


def make_cohort(
    tiny: Path,
    workdir: Path,
    pid: dict[str, str] | None = None,
    rid: dict[str, str] | None = None,
    color_suffix: frozenset[str] = frozenset(),
) -> Cohort:
    """Write the tiny run's cohort as the lab's files (absolute paths) with ids renamed by ``pid``/``rid``
    (default: unchanged), and a config that reads them, with the tiny run's pre-trained FAN as the weights file.
    Annotation files of recordings in ``color_suffix`` are named ``<id>_color.txt`` (NeuroFace's video name)."""
    synth = tiny / "results" / "synthetic"
    participants = pd.read_csv(synth / "participants.tsv", sep="\t", dtype=str)
    recordings = pd.read_csv(synth / "recordings.tsv", sep="\t", dtype=str)
    pid = pid or {p: p for p in participants["participant_id"]}
    rid = rid or {r: r for r in recordings["recording_id"]}
    workdir.mkdir(parents=True, exist_ok=True)
    data = workdir / "lab"
    (data / "Landmarks_gt").mkdir(parents=True)
    participants.assign(participant_id=participants["participant_id"].map(pid)).to_csv(
        data / "participants.tsv", sep="\t", index=False
    )
    recordings.assign(
        recording_id=recordings["recording_id"].map(rid),
        participant_id=recordings["participant_id"].map(pid),
        bag=[str(synth / b) for b in recordings["bag"]],
    ).to_csv(data / "recordings.tsv", sep="\t", index=False)
    seg = pd.read_csv(synth / "segmentation.csv", dtype={"File Name": str})
    seg["File Name"] = [f"{rid[name.removesuffix('_color.avi')]}_color.avi" for name in seg["File Name"]]
    seg.to_csv(data / "segmentation.csv", index=False)
    for file in sorted((synth / "Landmarks_gt").glob("*.txt")):
        new = rid[file.stem]
        shutil.copy(file, data / "Landmarks_gt" / (f"{new}_color.txt" if file.stem in color_suffix else f"{new}.txt"))
    shutil.copy(TINY_CONFIG, workdir / "config.yaml")
    cohort = Cohort(
        workdir,
        data / "participants.tsv",
        data / "recordings.tsv",
        data / "segmentation.csv",
        data / "Landmarks_gt",
        pid,
        rid,
    )
    cohort.config(
        cohort__source="files",
        cohort__participants=str(cohort.participants),
        cohort__recordings=str(cohort.recordings),
        cohort__segmentation=str(cohort.segmentation),
        cohort__annotations=str(cohort.annotations),
        fan__pretrained={
            "source": "file",
            "path": str(tiny / "results" / "fan" / "pretrained.pth"),
            "sha256": None,
            "download": False,
        },
    )
    return cohort


def relabelled_ids(tiny: Path) -> tuple[dict[str, str], dict[str, str]]:
    """Lab-style ids in the synthetic ids' sort order: ``lab_01_p``... and ``rec001``, ``rec002.v2``,
    ``rec003-take-2``..."""
    synth = tiny / "results" / "synthetic"
    pids = sorted(pd.read_csv(synth / "participants.tsv", sep="\t", dtype=str)["participant_id"])
    rids = sorted(pd.read_csv(synth / "recordings.tsv", sep="\t", dtype=str)["recording_id"])
    styles = ("rec{:03d}", "rec{:03d}.v2", "rec{:03d}-take-2")
    return (
        {p: f"lab_{i:02d}_p" for i, p in enumerate(pids, start=1)},
        {r: styles[i % 3].format(i) for i, r in enumerate(rids, start=1)},
    )


# -- running and what the user sees -------------------------------------------------------------------------------


def console_lines(job: Run, prefix: str) -> list[str]:
    return [line for line in job.text.splitlines() if line.startswith(prefix)]


def assert_stops_before_any_job(cohort: Cohort, job: Run, *fragments: str) -> None:
    """The DAG build refused the input: non-zero exit, every fragment in the message, no job, no results."""
    out = job.text
    assert job.proc.returncode != 0, out
    for fragment in fragments:
        assert fragment in out, (fragment, out)
    assert "jobid:" not in out, out
    assert not (cohort.workdir / "results").exists()


def assert_job_fails_with_one_line(cohort: Cohort, job: Run, rule: str, *fragments: str) -> str:
    """A first job failed: its input error is one console line (no traceback) holding every fragment, no
    expensive job started and nothing partial is left under results/. Returns the line."""
    out = job.text
    assert job.proc.returncode != 0, out
    started, _ = job.jobs()
    assert rule in started.values(), out
    assert not EXPENSIVE_RULES & set(started.values()), sorted(set(started.values()))
    lines = console_lines(job, "InputError: ")
    assert len(lines) == 1, out
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    assert "Traceback" not in out, out
    assert stray_files(cohort.workdir) == []
    return lines[0]


def dry_run(cohort: Cohort) -> Run:
    return run(cohort.workdir, "-n", timeout=600)


# -- the relabelled cohort, run to the end and compared with the synthetic run -------------------------------------


def read(path: Path) -> pd.DataFrame:
    return pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path, sep="\t")


def to_synthetic(table: pd.DataFrame, cohort: Cohort) -> pd.DataFrame:
    """The table with the lab's ids mapped back to the synthetic ones (``image`` keys ``<recording>:<frame>``)."""
    pid = {new: old for old, new in cohort.pid.items()}
    rid = {new: old for old, new in cohort.rid.items()}
    out = table.copy()
    if "participant_id" in out:
        out["participant_id"] = out["participant_id"].map(pid)
    if "recording_id" in out:
        out["recording_id"] = out["recording_id"].map(rid)
    if "image" in out:
        out["image"] = [f"{rid[key.rsplit(':', 1)[0]]}:{key.rsplit(':', 1)[1]}" for key in out["image"]]
    if "source" in out and len(out) and out["source"].astype(str).str.endswith(".txt").all():
        out = out.drop(columns="source")  # annotation file paths differ by design
    return out


def assert_same_table(lab: Path, synthetic: Path, cohort: Cohort, sort: list[str] | None = None, rows=None) -> None:
    got, want = to_synthetic(read(lab), cohort), read(synthetic)
    if "source" in want and "source" not in got:
        want = want.drop(columns="source")
    if rows is not None:
        want = want[rows(want)]
    if sort:
        got = got.sort_values(sort, kind="stable").reset_index(drop=True)
        want = want.sort_values(sort, kind="stable").reset_index(drop=True)
    if got.empty and want.empty:  # the tiny config can drop every repetition of a task
        assert list(got.columns) == list(want.columns), lab
        return
    pd.testing.assert_frame_equal(got.reset_index(drop=True), want.reset_index(drop=True), check_exact=True)


@pytest.fixture(scope="session")
def relabelled(tiny: Path, tmp_path_factory) -> tuple[Cohort, Run]:
    pid, rid = relabelled_ids(tiny)
    some = frozenset(sorted(rid)[::4])  # every fourth annotation file as <id>_color.txt
    cohort = make_cohort(tiny, tmp_path_factory.mktemp("lab-relabelled"), pid, rid, color_suffix=some)
    # one more participant, all of whose recordings are unusable: facing away, no consent, no annotations
    recordings = pd.read_csv(cohort.recordings, sep="\t", dtype=str)
    first = recordings[recordings["participant_id"] == pid[min(pid)]]
    extra = first.assign(
        recording_id=[f"gone-{i}.x" for i in range(len(first))], participant_id="lab_99_p", faces_camera="false"
    )
    pd.concat([recordings, extra]).to_csv(cohort.recordings, sep="\t", index=False)
    with cohort.participants.open("a") as fh:
        fh.write("lab_99_p\tHC\tF\t50\tno\n")
    job = run(cohort.workdir, timeout=RUN_TIMEOUT_S)
    return cohort, job


def test_relabelled_cohort_runs_to_the_end(relabelled):
    """Before: 0 annotated frames matched the training participants and finetune_fan divided by zero."""
    cohort, job = relabelled
    assert job.proc.returncode == 0, job.tail()
    assert stray_files(cohort.workdir) == []
    started, _ = job.jobs()
    assert "frame_index" in started.values()


def test_relabelled_cohort_fine_tunes_on_the_same_frames(relabelled, tiny):
    """Participants come from participant_id: the same split and the same fine-tuned model (Table III equal)."""
    cohort, job = relabelled
    assert job.proc.returncode == 0, job.tail()
    lab, ref = cohort.workdir / "results", tiny / "results"
    assert_same_table(lab / "fan" / "split.tsv", ref / "fan" / "split.tsv", cohort)
    assert_same_table(lab / "landmarks" / "per_image.tsv", ref / "landmarks" / "per_image.tsv", cohort)
    assert (lab / "tables" / "table3.tsv").read_bytes() == (ref / "tables" / "table3.tsv").read_bytes()
    history = read(lab / "fan" / "finetuning.tsv")
    assert history.equals(read(ref / "fan" / "finetuning.tsv"))
    annotations = read(lab / "inputs" / "annotations.parquet")
    assert "lab_99_p" not in set(annotations["participant_id"])
    assert_same_table(lab / "inputs" / "annotations.parquet", ref / "inputs" / "annotations.parquet", cohort)


def test_relabelled_cohort_tracks_features_and_classifies_the_same(relabelled, tiny):
    """Ids with dots reach features, classification and QC (before: KeyError in features, wrong split in QC)."""
    cohort, job = relabelled
    assert job.proc.returncode == 0, job.tail()
    lab, ref = cohort.workdir / "results", tiny / "results"
    recording_of = {new: old for old, new in cohort.rid.items()}
    compared = 0
    for old, new in list(cohort.pid.items())[:4]:  # one file per participant, rows per recording
        for model in MODELS:
            for suffix in (".parquet", ".smoothed.parquet"):
                b = ref / "tracks" / model / f"{old}{suffix}"
                if b.exists():
                    tables = read_recordings(lab / "tracks" / model / f"{new}{suffix}")
                    got = {recording_of[r]: t for r, t in tables.items()}
                    want = read_recordings(b)
                    assert sorted(got) == sorted(want)
                    for recording, table in want.items():
                        pd.testing.assert_frame_equal(got[recording], table, check_exact=True)
                        compared += 1
    assert compared
    for model in MODELS:
        tables = sorted((ref / "features" / model).glob("*.tsv"))
        assert len(tables) == 7  # 3 tasks x 2 sets, dropped
        for table in tables:
            assert_same_table(lab / "features" / model / table.name, table, cohort)
        assert len(read(lab / "features" / model / "dropped.tsv")) > 0  # the tiny config drops repetitions
    for table in sorted((ref / "classification").glob("*/*.tsv")):
        lab_table = lab / "classification" / table.parent.name / table.name
        assert_same_table(lab_table, table, cohort, rows=lambda t: t["source"].isin(MODELS).to_numpy())
    assert_same_table(lab / "qc" / "qc.tsv", ref / "qc" / "qc.tsv", cohort)
    assert not (lab / "qc" / "lab_99_p").exists()  # not tracked: facing away


# -- bad tables and config: refused while the DAG is built ---------------------------------------------------------


@pytest.fixture
def prefixed(tiny: Path, tmp_path: Path) -> Cohort:
    """The tiny run's cohort as lab files with its own (NeuroFace-style) ids."""
    return make_cohort(tiny, tmp_path / "lab")


def _rewrite_line(path: Path, line: int, edit) -> None:
    lines = path.read_text().splitlines()
    lines[line - 1] = edit(lines[line - 1])
    path.write_text("\n".join(lines) + "\n")


def test_backwards_segment_stops_before_any_job(prefixed):
    """Before: found only by validate_inputs, after every bag was read, as a traceback in its log."""
    _rewrite_line(prefixed.segmentation, 3, lambda row: ",".join([*row.split(",")[:2], "1", "9", "5"]))
    job = dry_run(prefixed)
    assert_stops_before_any_job(
        prefixed, job, f"{prefixed.segmentation}: line 3", "segment runs backwards: end 5 is before start 9"
    )


def test_annotation_row_with_135_coordinates_stops_before_any_job(prefixed):
    file = prefixed.annotation_file(sorted(prefixed.rid)[0])
    _rewrite_line(file, 2, lambda row: row.rsplit(",", 1)[0])
    job = dry_run(prefixed)
    assert_stops_before_any_job(prefixed, job, f"{file}: line 2", "found 136 values, expected 137")


def test_nan_coordinate_stops_before_any_job(prefixed):
    file = prefixed.annotation_file(sorted(prefixed.rid)[1])
    _rewrite_line(file, 2, lambda row: ",".join([*row.split(",")[:5], "nan", *row.split(",")[6:]]))
    job = dry_run(prefixed)
    assert_stops_before_any_job(prefixed, job, f"{file}: line 2", "expected a finite number, got 'nan'")


def test_forest_typo_stops_before_any_job(prefixed):
    """Before: passed the schema and failed in classify, the last stage."""
    prefixed.config(classification__random_forest={"n_estimators": 20, "min_sample_leaf": 1})
    job = dry_run(prefixed)
    assert_stops_before_any_job(
        prefixed, job, "classification.random_forest", "'min_sample_leaf'", "did you mean 'min_samples_leaf'"
    )


def test_weights_path_typo_never_falls_back_to_the_cache(prefixed, tiny, tmp_path):
    """A cached 2DFAN-4 (here the tiny FAN under that name, with its checksum configured) must not stand in for a
    mistyped path. Before: the run silently used the cached file."""
    weights = tiny / "results" / "fan" / "pretrained.pth"
    torch_home = tmp_path / "torch-home"
    cached = torch_home / "hub" / "checkpoints" / "2DFAN4-11f355bf06.pth.tar"
    cached.parent.mkdir(parents=True)
    shutil.copy(weights, cached)
    typo = weights.parent / "pretrianed.pth"
    prefixed.config(
        fan__pretrained={
            "source": "file",
            "path": str(typo),
            "sha256": hashlib.sha256(weights.read_bytes()).hexdigest(),
            "download": False,
        }
    )
    cmd = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "-d", str(prefixed.workdir)]
    result = subprocess.run(
        [*cmd, "-n", "--cores", "1"],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "TORCH_HOME": str(torch_home)},
    )
    out = result.stdout + result.stderr
    assert result.returncode != 0, out
    assert f"{typo}: pre-trained FAN weights not found" in out, out
    assert f"cache has {cached}, which is not used for an explicit path" in out, out
    assert not (prefixed.workdir / "results").exists()


def test_a_missing_frames_directory_stops_before_any_job(prefixed):
    """cohort.frames (the annotated frames as images) names a directory that is not there. Before: found by
    the first annotated_frames job."""
    frames = prefixed.workdir / "Frames"
    prefixed.config(cohort__frames=str(frames))
    assert_stops_before_any_job(prefixed, dry_run(prefixed), f"config cohort.frames: {frames} is not a directory")


def test_the_readmes_lab_config_plans_over_config_yaml(prefixed, tiny, tmp_path):
    """README "Running on the lab's data": its ``lab.yaml``, with this cohort's files for the lab's paths and
    the tiny FAN under 2DFAN-4's file name (its own hash in the name), passed with ``--configfile`` over the
    shipped ``config.yaml``, plans the lab's DAG. Before: the snippet left config.yaml's ``sha256`` (the demo
    model's) in force, and 2DFAN-4 failed its checksum before any job."""
    section = (REPO / "README.md").read_text().split("## Running on the lab's data", 1)[1]
    lab = yaml.safe_load(section.split("```yaml\n", 1)[1].split("```", 1)[0])
    assert lab["fan"]["pretrained"]["path"] == "/data/weights/2DFAN4-11f355bf06.pth.tar", lab
    weights = tiny / "results" / "fan" / "pretrained.pth"
    fan4 = tmp_path / "weights" / f"2DFAN4-{hashlib.sha256(weights.read_bytes()).hexdigest()[:10]}.pth.tar"
    fan4.parent.mkdir()
    shutil.copy(weights, fan4)
    shutil.copy(weights.with_name(weights.name + ".json"), fan4.with_name(fan4.name + ".json"))  # the tiny FAN's
    for key in ("participants", "recordings", "segmentation", "annotations"):
        lab["cohort"][key] = str(getattr(prefixed, key))
    del lab["cohort"]["frames"]  # optional; the tiny cohort has no exported frame images
    lab["fan"]["pretrained"]["path"] = str(fan4)
    lab["fan"]["train_participants_per_group"] = 1  # the tiny cohort has 2 PS participants
    (prefixed.workdir / "lab.yaml").write_text(yaml.safe_dump(lab))
    shutil.copy(REPO / "config.yaml", prefixed.workdir / "config.yaml")
    job = run(prefixed.workdir, "-n", "--configfile", "lab.yaml", timeout=600)
    assert job.proc.returncode == 0, job.text
    assert "track_landmarks" in job.text and "synthetic_participant" not in job.text, job.text
    assert not (prefixed.workdir / "results").exists()


def test_too_few_annotated_participants_for_the_split_stop_before_any_job(prefixed):
    """The tiny cohort has 2 PS participants and trains on 1 per group; without one's annotations, PS has
    nobody to test on. Before: the split counted every participant and went ahead."""
    participants = pd.read_csv(prefixed.participants, sep="\t", dtype=str)
    ps = sorted(participants.loc[participants["group"] == "PS", "participant_id"])[0]
    for file in list(prefixed.annotations.glob(f"{ps}_*.txt")):
        file.unlink()
    job = dry_run(prefixed)
    assert_stops_before_any_job(
        prefixed,
        job,
        "fan.train_participants_per_group",
        "group PS has 1 participants with annotated frames",
        "needs at least 2 (1 to train, 1 to test)",
    )


def test_numeric_recording_id_is_refused_up_front(tiny, tmp_path):
    """'007' would come back as the number 7 from the tables between stages."""
    pid, rid = relabelled_ids(tiny)
    first = sorted(rid)[0]
    rid[first] = "007"
    cohort = make_cohort(tiny, tmp_path / "lab", pid, rid)
    line = 2 + list(pd.read_csv(cohort.recordings, sep="\t", dtype=str)["recording_id"]).index("007")
    job = dry_run(cohort)
    assert_stops_before_any_job(cohort, job, f"{cohort.recordings}: line {line}", "'007' is not a valid id")


# -- bad bags: the first job fails with one line ---------------------------------------------------------------------


def test_random_bytes_bag_is_named_in_one_line(tiny, tmp_path):
    """Before: a raw UnicodeDecodeError traceback from rosbags in the log, naming no file."""
    cohort = make_cohort(tiny, tmp_path / "lab")
    recordings = pd.read_csv(cohort.recordings, sep="\t", dtype=str)
    bad = tmp_path / "lab" / "broken.bag"
    bad.write_bytes(np.random.default_rng(0).bytes(100_000))
    recordings.loc[1, "bag"] = str(bad)
    recordings.to_csv(cohort.recordings, sep="\t", index=False)
    job = run(cohort.workdir, timeout=RUN_TIMEOUT_S)
    line = assert_job_fails_with_one_line(
        cohort, job, "frame_index", f"{bad}: not a readable RealSense recording", "UnicodeDecodeError"
    )
    participant = recordings.loc[1, "participant_id"]
    assert not (cohort.workdir / "results" / "inputs" / "frames" / f"{participant}.tsv").exists(), line


def test_segment_past_the_last_frame_is_named_in_one_line(tiny, tmp_path):
    """Before: the message was in validate_inputs' log only, and tracking jobs could start meanwhile."""
    cohort = make_cohort(tiny, tmp_path / "lab")
    _rewrite_line(cohort.segmentation, 2, lambda row: ",".join([*row.split(",")[:2], "400", "100", "499"]))
    job = run(cohort.workdir, timeout=RUN_TIMEOUT_S)
    assert_job_fails_with_one_line(
        cohort, job, "validate_inputs", f"{cohort.segmentation}: line 2", "segment 100-499 falls outside recording"
    )
    assert not (cohort.workdir / "results" / "inputs" / "segmentation.tsv").exists()


# -- the checks themselves, without a run ----------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(4))
def test_reader_names_any_unreadable_bag(tmp_path, seed):
    """Random bytes raise whatever rosbags meets first (UnicodeDecodeError, ...): always an InputError naming the
    bag. Before: UnicodeDecodeError escaped without the file's name."""
    from neuroface.errors import InputError
    from neuroface.realsense.bag import open_bag

    bag = tmp_path / f"random{seed}.bag"
    bag.write_bytes(np.random.default_rng(seed).bytes(50_000))
    with pytest.raises(InputError, match=f"^{re.escape(str(bag))}: not a readable RealSense recording: "):
        open_bag(bag)


def test_reader_names_a_bag_that_breaks_while_streaming(tmp_path, small_bag):
    """Damage after the header (random bytes over the chunks) surfaces while frames stream: named too."""
    from neuroface.errors import InputError
    from neuroface.realsense.bag import open_bag

    data = bytearray(small_bag.read_bytes())
    start = len(data) // 3
    data[start : start + 20_000] = np.random.default_rng(1).bytes(20_000)
    bag = tmp_path / "damaged.bag"
    bag.write_bytes(bytes(data))
    with pytest.raises(InputError, match=f"^{re.escape(str(bag))}: not a readable RealSense recording"):
        reader = open_bag(bag)
        for kind in ("color", "depth"):
            list(reader.frames(kind))


def test_input_error_is_one_console_line_and_a_logged_traceback(tmp_path):
    """What a failed rule script shows: the _bootstrap hook prints one line, the log keeps the traceback."""
    script = tmp_path / "job.py"
    log = tmp_path / "job.log"
    script.write_text(
        "import sys\n"
        f"sys.path.insert(0, {str(REPO / 'workflow' / 'scripts')!r})\n"
        "import _bootstrap\n"
        "from neuroface.errors import InputError\n"
        "from neuroface.io import setup_logging\n"
        f"setup_logging({str(log)!r})\n"
        "raise InputError('/data/seg.csv', 'segment 3-9 falls\\noutside', 7)\n"
    )
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert result.stderr == "InputError: /data/seg.csv: line 7: segment 3-9 falls outside\n"
    assert "Traceback" in log.read_text() and "job.py" in log.read_text()


def test_other_errors_keep_their_traceback(tmp_path):
    script = tmp_path / "job.py"
    script.write_text(
        f"import sys\nsys.path.insert(0, {str(REPO / 'workflow' / 'scripts')!r})\nimport _bootstrap\n1 / 0\n"
    )
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert "Traceback" in result.stderr and "ZeroDivisionError" in result.stderr


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"min_sample_leaf": 1}, r"'min_sample_leaf' is not a parameter .*did you mean 'min_samples_leaf'"),
        ({"n_estimators": 0}, r"'n_estimators' parameter .* Got 0"),
        ({"max_features": "sqr"}, r"'max_features' parameter .* Got 'sqr'"),
        ({"random_state": 1}, r"random_state: set the seed with classification.seed"),
    ],
)
def test_forest_settings_checked_against_scikit_learn(params, message):
    from neuroface.classification.forest import DEFAULT_RF_PARAMS, check_forest_params

    check_forest_params(DEFAULT_RF_PARAMS)
    check_forest_params({"n_estimators": 20, "min_samples_leaf": 2, "max_depth": 3, "criterion": "entropy"})
    with pytest.raises(ValueError, match=message):
        check_forest_params(params)


def test_explicit_weights_path_never_falls_back_to_the_cache(tmp_path, monkeypatch):
    from neuroface.errors import InputError
    from neuroface.fan import weights

    cached = tmp_path / "hub" / "checkpoints" / weights.FAN4_FILE
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"cached")
    monkeypatch.setattr(weights, "hub_cache_path", lambda filename=weights.FAN4_FILE: cached)
    assert weights.locate_pretrained(None) == cached
    present = tmp_path / "mine.pth"
    present.write_bytes(b"mine")
    assert weights.locate_pretrained(str(present)) == present
    typo = tmp_path / "mien.pth"
    with pytest.raises(InputError, match=f"^{re.escape(str(typo))}: pre-trained FAN weights not found .*cache has"):
        weights.locate_pretrained(str(typo))


def test_split_counts_only_participants_with_annotations():
    from neuroface.inputs.annotated import split_participants, split_problems

    participants = pd.DataFrame(
        {"participant_id": ["a_1", "a_2", "b_1", "b_2", "b_3"], "group": ["HC", "HC", "PS", "PS", "PS"]}
    )
    groups = dict(zip(participants["participant_id"], participants["group"], strict=True))
    assert split_problems(groups, ["a_1", "a_2", "b_1", "b_3"], 1) == []
    assert split_problems(groups, ["a_1", "b_1", "b_2"], 1) == [
        "group HC has 1 participants with annotated frames: fan.train_participants_per_group is 1, "
        "which needs at least 2 (1 to train, 1 to test)"
    ]
    split = split_participants(participants, 1, seed=0, annotated={"a_1", "a_2", "b_1", "b_3"})
    assert sorted(split["participant_id"]) == ["a_1", "a_2", "b_1", "b_3"]
    assert split.groupby("group")["set"].apply(sorted).to_dict() == {"HC": ["test", "train"], "PS": ["test", "train"]}
    # without annotations the same participants give the same split as before
    assert split_participants(participants, 1, seed=0).equals(split_participants(participants, 1, 0, groups))
    with pytest.raises(ValueError, match="group HC has 1 participants"):
        split_participants(participants, 1, seed=0, annotated={"a_1", "b_1", "b_2"})


def test_empty_training_set_names_the_annotations(tmp_path):
    """Annotations of other participants only: an error naming them, not a division by zero in training."""
    from neuroface.errors import InputError
    from neuroface.fan.pipeline import cohort_samples

    annotations = pd.DataFrame(
        {
            "recording_id": ["rec001", "rec002.v2"],
            "participant_id": ["lab_01_p", "lab_02_p"],
            "frame": [3, 4],
            "source": ["/lab/Landmarks_gt/rec001.txt", "/lab/Landmarks_gt/rec002.v2.txt"],
        }
    )
    with pytest.raises(InputError, match=r"no annotated frame of participant\(s\) lab_03_p: .*rec002\.v2\.txt"):
        cohort_samples(annotations, tmp_path, {"lab_03_p"})

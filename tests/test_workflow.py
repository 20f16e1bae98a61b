"""The Snakemake workflow: lint-clean, a dry run plans the DAG, bad config or tables stop it early."""

from __future__ import annotations

import copy
import hashlib
import subprocess
from pathlib import Path

import pytest
import yaml

from conftest import REPO
from workflow_runs import copy_run, new_workdir, snakemake_command


def snakemake(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    cmd = [*snakemake_command(None, cores=1), *args]
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=300)


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    return new_workdir(tmp_path, REPO / "config.yaml")


def test_lint_is_clean():
    result = snakemake("--lint")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Congratulations" in result.stdout + result.stderr


def test_dry_run_plans_the_default_dag(workdir):
    result = snakemake("-n", "-d", str(workdir))
    out = result.stdout + result.stderr
    assert result.returncode == 0, out
    # one job per participant of the 45 the synthetic cohort plans
    for rule, count in [
        ("synthetic_participant", 45),
        ("frame_index", 45),
        ("validate_inputs", 1),
        ("annotated_frames", 45),
        ("finetune_fan", 1),  # from the shipped demo pre-trained weights: no pretrain_fan
        ("table_iii", 1),
        ("fig2", 1),
        ("track_landmarks", 36),  # the 102 classification recordings of 36 participants, a job per participant
        ("reconstruct_3d", 36),  # both models and R2, a job per participant
        ("tracking_accuracy", 1),
        ("features", 4),  # pretrained, finetuned, true3d (R1), true2d (R2)
        ("ladder_true2d", 1),
        ("ladder_motion_features", 1),
        ("ladder", 1),
        ("exclusions", 1),
        ("classify", 6),  # {HC vs PS, HC vs ALS} x {BBP, OPEN, SPREAD}, every source in each
        ("table_ii", 1),
        ("roc_figure", 2),
        ("qc_participant", 36),  # consenting participants
        ("qc_table", 1),
    ]:
        assert any(line.split()[:2] == [rule, str(count)] for line in out.splitlines()), (rule, out)
    assert not any(line.split()[:1] == ["pretrain_fan"] for line in out.splitlines())


def test_the_pretraining_overlay_plans_the_corpus_and_the_pretraining(workdir):
    """README "FAN": the overlay on config.yaml re-makes the shipped pre-trained FAN from the demo preset's
    generic corpus instead of loading it, and the rest of the DAG is the default's."""
    overlay = REPO / "resources" / "experiments" / "pretrain_demo_fan.yaml"
    assert yaml.safe_load(overlay.read_text())["fan"]["pretrained"]["source"] == "train"
    result = snakemake("-n", "-d", str(workdir), "--configfile", str(workdir / "config.yaml"), str(overlay))
    out = result.stdout + result.stderr
    assert result.returncode == 0, out
    counts = _job_counts(out)
    assert counts["synthetic_generic_corpus"] == 1 and counts["pretrain_fan"] == 1, counts
    default = snakemake("-n", "-d", str(workdir))
    default = _job_counts(default.stdout + default.stderr)
    assert {k: v for k, v in counts.items() if k not in ("synthetic_generic_corpus", "pretrain_fan")} == default


def _maps(schema: dict, prefix: tuple = ()) -> set[tuple]:
    """Config paths whose schema is a free-form mapping (``additionalProperties`` a schema, no ``properties``:
    e.g. ``fan.finetuning.lr_steps``)."""
    found = set()
    if isinstance(schema.get("additionalProperties"), dict) and "properties" not in schema:
        found.add(prefix)
    for key, sub in schema.get("properties", {}).items():
        found |= _maps(sub, (*prefix, key))
    return found


def _at(tree: dict, path: tuple):
    for key in path:
        tree = tree[key]
    return tree


@pytest.mark.parametrize("overlay", sorted(p.name for p in (REPO / "resources" / "experiments").glob("*.yaml")))
def test_an_experiment_overlay_on_config_yaml_is_a_valid_config_that_changes_it_as_written(overlay):
    """README's experiments are config.yaml plus an overlay (``--configfile config.yaml <overlay>``): merged as
    Snakemake merges them, the result differs from config.yaml and passes the schema, whose sections refuse keys
    they do not know (a misspelt or misplaced key would otherwise leave the experiment silently the default). A
    free-form mapping the overlay sets (``lr_steps``) is the overlay's own after the merge: Snakemake merges it
    into config.yaml's, so an overlay's ``lr_steps: {12: ...}`` would keep config.yaml's step at epoch 4 too."""
    from snakemake.utils import update_config, validate

    schema_path = REPO / "workflow" / "schemas" / "config.schema.yaml"
    default = yaml.safe_load((REPO / "config.yaml").read_text())
    changes = yaml.safe_load((REPO / "resources" / "experiments" / overlay).read_text())
    merged = yaml.safe_load((REPO / "config.yaml").read_text())
    update_config(merged, changes)
    assert merged != default, f"{overlay} changes nothing"
    validate(merged, str(schema_path), set_default=True)
    for path in _maps(yaml.safe_load(schema_path.read_text())):
        try:
            written = _at(changes, path)
        except KeyError:
            continue
        assert _at(merged, path) == written, (
            f"{overlay}: {'.'.join(path)} is {written}, but merged into config.yaml's it is {_at(merged, path)}"
        )


def test_the_shipped_pretrained_fan_is_the_configured_one_made_from_the_demo_corpus():
    """config.yaml and the schema's default pin the shipped weights' hash, and their sidecar's held-out set is the
    10 % of the demo preset's generic corpus that rule pretrain_fan holds out: the file is what the overlay
    resources/experiments/pretrain_demo_fan.yaml re-makes, not a model of an older corpus."""
    import json

    from neuroface.synthetic.cohort import PRESETS

    weights = REPO / "resources" / "fan" / "demo_pretrained.pth"
    digest = hashlib.sha256(weights.read_bytes()).hexdigest()
    config = yaml.safe_load((REPO / "config.yaml").read_text())["fan"]["pretrained"]
    schema = yaml.safe_load((REPO / "workflow" / "schemas" / "config.schema.yaml").read_text())
    default = schema["properties"]["fan"]["properties"]["pretrained"]["properties"]["sha256"]["default"]
    sidecar = json.loads(weights.with_name(weights.name + ".json").read_text())
    assert config["path"] == "resources/fan/demo_pretrained.pth"
    assert config["sha256"] == default == sidecar["sha256"] == digest
    assert sidecar["heldout_images"] == round(0.1 * PRESETS["demo"].generic_images)


def _job_counts(out: str) -> dict[str, int]:
    """Rule -> job count from a dry run's "Job stats" table."""
    lines = out[out.index("Job stats:") :].splitlines()[3:]
    counts = {}
    for line in lines:
        fields = line.split()
        if len(fields) != 2 or not fields[1].isdigit() or fields[0] == "total":
            break
        counts[fields[0]] = int(fields[1])
    return counts


def test_figures_target_plans_the_analysis_without_the_qc(workdir):
    result = snakemake("-n", "-d", str(workdir), "figures")
    out = result.stdout + result.stderr
    assert result.returncode == 0, out
    counts = _job_counts(out)
    # every rule whose output the report shows, QC aside: Figs. 2-4, Tables II-III, exclusions, loss curve
    reported = {"fig2", "table_iii", "table_ii", "roc_figure", "exclusions", "finetune_fan"}
    assert reported <= counts.keys(), counts
    assert counts["roc_figure"] == 2 and counts["figures"] == 1
    assert not [rule for rule in counts if rule.startswith("qc_")], counts
    # the QC rules and the ablation's (its own target, not in the default run) are the only report rules
    # left out: everything else in the report is in this DAG
    qc_rules = {"qc_participant", "qc_table", "ablation_table", "ablation_figure"}
    report_rules = set()
    for smk in (REPO / "workflow" / "rules").glob("*.smk"):
        rule = None
        for line in smk.read_text().splitlines():
            if line.startswith("rule "):
                rule = line.split()[1].rstrip(":")
            elif "report(" in line and rule:
                report_rules.add(rule)
    assert report_rules - qc_rules == reported, report_rules


def test_a_fan_setting_reruns_only_the_training_that_reads_it(tiny, tmp_path):
    """On a copy of the finished tiny run (which pre-trains its FAN): a longer fine-tuning re-makes the fine-tuned
    model, not the pre-trained one (whose params once held all of fan); a longer pre-training re-makes both; the
    decoder, which no training reads, re-makes neither, only what decodes heatmaps."""
    workdir = copy_run(tiny, tmp_path / "run")
    original = yaml.safe_load((workdir / "config.yaml").read_text())
    decoder = {"subpixel": "face-alignment", "face-alignment": "subpixel"}[original["fan"]["decoder"]]
    cases = {
        ("finetuning", "epochs"): (original["fan"]["finetuning"]["epochs"] + 1, {"finetune_fan"}),
        ("pretraining", "epochs"): (original["fan"]["pretraining"]["epochs"] + 1, {"pretrain_fan", "finetune_fan"}),
        ("decoder",): (decoder, set()),
    }
    for keys, (value, trained) in cases.items():
        cfg = copy.deepcopy(original)
        section = cfg["fan"]
        for key in keys[:-1]:
            section = section[key]
        section[keys[-1]] = value
        # keys in their order: Snakemake compares params as written, so a reordered dict counts as changed
        (workdir / "config.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
        result = snakemake("-n", "-d", str(workdir))
        out = result.stdout + result.stderr
        assert result.returncode == 0, out
        counts = _job_counts(out)
        assert counts.keys() & {"pretrain_fan", "finetune_fan"} == trained, (keys, counts)
        assert counts.get("landmark_accuracy") == 1 and counts.get("track_landmarks"), (keys, counts)


def _config(workdir: Path, **changes) -> Path:
    cfg = yaml.safe_load((workdir / "config.yaml").read_text())
    for dotted, value in changes.items():
        section, key = dotted.split("__")
        cfg[section][key] = value
    path = workdir / "config.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"synthetic__preset": "huge"}, "huge"),
        ({"synthetic__fpss": 10}, "fpss"),
        ({"realsense__backend": "opencv"}, "opencv"),
        ({"synthetic__seed": -1}, "-1"),
    ],
)
def test_bad_config_stops_before_any_job(workdir, change, message):
    _config(workdir, **change)
    result = snakemake("-d", str(workdir))
    out = result.stdout + result.stderr
    assert result.returncode != 0
    assert message in out and "validat" in out.lower(), out
    assert not (workdir / "results").exists()


@pytest.mark.parametrize(
    ("source", "message"),
    [
        # the shipped file's sidecar says 2 stacks (fan.architecture is what source train would build)
        ("file", "3 stacks to fine-tune, but the pre-trained FAN ("),
        ("train", "3 stacks to fine-tune, but fan.architecture has 2"),
    ],
)
def test_fine_tuning_more_stacks_than_the_fan_has_stops_before_any_job(workdir, source, message):
    cfg = yaml.safe_load((workdir / "config.yaml").read_text())
    cfg["fan"]["finetuning"]["stacks"] = 3
    cfg["fan"]["pretrained"]["source"] = source
    (workdir / "config.yaml").write_text(yaml.safe_dump(cfg))
    result = snakemake("-n", "-d", str(workdir))
    out = result.stdout + result.stderr
    assert result.returncode != 0
    assert f"fan.finetuning.stacks: {message}" in out, out
    assert source == "train" or "demo_pretrained.pth) has 2" in out, out
    assert not (workdir / "results").exists()


def test_fine_tuning_counts_the_stacks_of_the_weights_file_not_fan_architecture(workdir, tmp_path):
    """A weights file without a sidecar is 2DFAN-4 (4 stacks): fine-tuning its last 3 plans, whatever
    fan.architecture (what source train would build, 2 stacks here) says. Before: refused."""
    fan4 = tmp_path / f"2DFAN4-{hashlib.sha256(b'weights').hexdigest()[:10]}.pth.tar"  # the dry run never loads it
    fan4.write_bytes(b"weights")
    cfg = yaml.safe_load((workdir / "config.yaml").read_text())
    cfg["fan"]["pretrained"].update(path=str(fan4), sha256=None)
    cfg["fan"]["finetuning"]["stacks"] = 3
    (workdir / "config.yaml").write_text(yaml.safe_dump(cfg))
    result = snakemake("-n", "-d", str(workdir))
    assert result.returncode == 0, result.stdout + result.stderr
    assert cfg["fan"]["architecture"]["stacks"] == 2


def test_missing_or_wrong_s3fd_weights_stop_before_any_job(workdir, tmp_path):
    """tracking.detector sfd: the weights are found and checked when the DAG is built, not when the
    first tracking job starts (after the cohort is rendered and the FAN fine-tuned)."""
    cfg = yaml.safe_load((workdir / "config.yaml").read_text())
    weights = tmp_path / "s3fd-0123456789.pth"  # its name's hash is not its own
    weights.write_bytes(b"not S3FD")
    for sfd, message in [
        ({"path": str(tmp_path / "missing.pth"), "sha256": None}, "S3FD weights not found (tracking.sfd.path)"),
        ({"path": str(weights), "sha256": None}, "checksum mismatch"),
    ]:
        cfg["tracking"].update(detector="sfd", sfd=sfd)
        (workdir / "config.yaml").write_text(yaml.safe_dump(cfg))
        result = snakemake("-n", "-d", str(workdir))
        out = result.stdout + result.stderr
        assert result.returncode != 0 and message in out, out
        assert not (workdir / "results").exists()
    cfg["tracking"]["sfd"]["sha256"] = hashlib.sha256(b"not S3FD").hexdigest()  # a configured checksum wins
    (workdir / "config.yaml").write_text(yaml.safe_dump(cfg))
    result = snakemake("-n", "-d", str(workdir))
    assert result.returncode == 0, result.stdout + result.stderr


def test_an_architecture_the_fan_cannot_be_built_from_stops_before_any_job(workdir):
    """input_size against depth, which the schema cannot express: checked when the DAG is built
    (without PyTorch), not after the cohort is rendered."""
    cfg = yaml.safe_load((workdir / "config.yaml").read_text())
    cfg["fan"]["architecture"]["input_size"] = 130
    (workdir / "config.yaml").write_text(yaml.safe_dump(cfg))
    result = snakemake("-n", "-d", str(workdir))
    out = result.stdout + result.stderr
    assert result.returncode != 0
    assert "config fan.architecture: input_size 130 must be divisible by 4 * 2**depth = 64" in out, out
    assert not (workdir / "results").exists()


def test_bad_participants_table_names_file_and_line(workdir):
    (workdir / "participants.tsv").write_text(
        "participant_id\tgroup\tsex\tage\tconsent_share\nA001\tALS\tF\t60\ttrue\nX001\tMS\tM\t50\tyes\n"
    )
    (workdir / "recordings.tsv").write_text("recording_id\tparticipant_id\ttask\tbag\tfaces_camera\n")
    _config(
        workdir, cohort__source="files", cohort__participants="participants.tsv", cohort__recordings="recordings.tsv"
    )
    result = snakemake("-n", "-d", str(workdir))
    out = result.stdout + result.stderr
    assert result.returncode != 0
    assert "participants.tsv: line 3" in out and "MS" in out, out


def test_missing_pretrained_weights_stop_before_any_job(workdir):
    cfg = yaml.safe_load((workdir / "config.yaml").read_text())
    missing = workdir / "weights" / "2DFAN4-11f355bf06.pth.tar"
    cfg["fan"]["pretrained"] = {"source": "file", "path": str(missing), "download": False}
    (workdir / "config.yaml").write_text(yaml.safe_dump(cfg))
    env_home = workdir / "torch-home"  # an empty face-alignment / torch.hub cache
    cmd = snakemake_command(workdir, cores=1)
    result = subprocess.run(
        cmd, capture_output=True, text=True, timeout=300, env={**__import__("os").environ, "TORCH_HOME": str(env_home)}
    )
    out = result.stdout + result.stderr
    assert result.returncode != 0
    assert str(missing) in out and "adrianbulat.com" in out and "2DFAN-4" in out, out
    assert not (workdir / "results").exists()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"features__sets": {"PS": ["mouth_width_rom", "nope"], "ALS": ["mouth_width_rom"]}}, "nope"),
        ({"classification__runs": {"HC_vs_PD": ["PD", "PS"]}}, "no group 'PD'"),
        ({"classification__runs": {"HC_vs_PS": ["PS", "XYZ"]}}, "no feature set 'XYZ'"),
    ],
)
def test_bad_feature_or_classification_config_stops_before_any_job(workdir, change, message):
    _config(workdir, **change)
    result = snakemake("-n", "-d", str(workdir))
    out = result.stdout + result.stderr
    assert result.returncode != 0
    assert message in out, out

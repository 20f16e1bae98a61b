"""The execution profiles. ``profiles/slurm`` and ``profiles/local`` plan the tiny config, the local
profile runs GPU jobs one at a time, and (root only) a one-node SLURM cluster on localhost runs part of
the tiny config through ``profiles/slurm``: every non-local job is a SLURM job, FAN rules ask SLURM
for a GPU only when fan.device says they will use one, and the results equal a local run's."""

from __future__ import annotations

import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from conftest import REPO, system_executables
from workflow_runs import CNN_RULES, logged_jobs, new_workdir, result_files, same_result, snakemake

PROFILES = REPO / "profiles"
#: The Debian package of each program the one-node cluster needs (installed by .ci/run).
SLURM_PROGRAMS = {"munged": "munge", "slurmctld": "slurmctld", "slurmd": "slurmd", "srun": "slurm-client"}


# -- the profiles ---------------------------------------------------------------------------------------


def profile(name: str) -> dict:
    return yaml.safe_load((PROFILES / name / "config.yaml").read_text())


def plan(workdir: Path, name: str) -> str:
    """The log of a dry run of ``workdir``'s config through profile ``name``."""
    return snakemake(workdir, "--profile", str(PROFILES / name), "-n", log_name="dry-run.log", cores=None, timeout=300)


def resource_settings(settings: dict) -> list[dict]:
    """The profile's default-resources and each of its set-resources."""
    return [settings.get("default-resources") or {}, *(settings.get("set-resources") or {}).values()]


def test_slurm_profile_plans_the_tiny_config_with_resources_for_every_job(tmp_path):
    pytest.importorskip("snakemake_executor_plugin_slurm", reason="needs the test extra's SLURM executor plugin")
    settings = profile("slurm")
    assert settings["executor"] == "slurm"
    # GPUs are requested through the plugin's gpu/gpu_model/gres resources only, never through slurm_extra
    extra = [r.get("slurm_extra", "") for r in resource_settings(settings)]
    assert not [e for e in extra if re.search(r"gpu|gres", str(e))], extra

    log = plan(new_workdir(tmp_path), "slurm")
    jobs = [j for j in logged_jobs(log) if not j.local]
    rules = {j.rule for j in jobs}
    assert CNN_RULES <= rules, rules
    listed = snakemake(new_workdir(tmp_path / "rules"), "--list-rules", log_name="rules.log", cores=None)
    # one rule per line, "name (docstring...)", the docstring's further lines indented
    workflow_rules = {line.split()[0] for line in listed.splitlines() if line.strip() and not line[0].isspace()}
    assert set(settings["set-resources"]) <= workflow_rules, "set-resources names a rule the workflow does not have"
    for job in jobs:
        assert {"mem_mb", "runtime"} <= job.resources.keys(), job
        # the tiny config runs FAN on the CPU (fan.device: cpu): no job holds a GPU
        assert job.resources.get("gpu", "0") == "0", job
        wanted = {**settings["default-resources"], **settings["set-resources"].get(job.rule, {})}
        assert int(job.resources["mem_mb"]) == wanted["mem_mb"] and int(job.resources["runtime"]) == wanted["runtime"]


@pytest.mark.parametrize("device", ["cpu", "cuda"])
def test_slurm_profile_requests_gpus_only_for_fan_rules_on_cuda(tmp_path, device):
    # fan.device decides at DAG build whether the FAN rules ask SLURM for a GPU: a CPU-only config
    # requests none (no idle GPU held), a CUDA config one per FAN job and none for the other jobs
    pytest.importorskip("snakemake_executor_plugin_slurm", reason="needs the test extra's SLURM executor plugin")
    workdir = new_workdir(tmp_path)
    config = yaml.safe_load((workdir / "config.yaml").read_text())
    config["fan"]["device"] = device
    (workdir / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    log = plan(workdir, "slurm")
    jobs = [j for j in logged_jobs(log) if not j.local]
    assert CNN_RULES <= {j.rule for j in jobs}
    for job in jobs:
        wanted = "1" if device == "cuda" and job.rule in CNN_RULES else "0"
        assert job.resources.get("gpu", "0") == wanted, job


def test_local_profile_plans_the_tiny_config(tmp_path):
    assert profile("local")["resources"]["gpu"] == 1
    plan(new_workdir(tmp_path), "local")


GPU_SNAKEFILE = """
rule all:
    input:
        expand("gpu{i}.txt", i=range(3)),

rule gpu:
    output:
        "gpu{i}.txt",
    resources:
        gpu=1,
    shell:
        "date +%s.%N > {output}; sleep 2; date +%s.%N >> {output}"
"""


def gpu_intervals(tmp_path: Path, *args: str) -> list[tuple[float, float]]:
    (tmp_path / "Snakefile").write_text(GPU_SNAKEFILE)
    for f in tmp_path.glob("gpu*.txt"):
        f.unlink()
    cmd = [sys.executable, "-m", "snakemake", "-s", str(tmp_path / "Snakefile"), "-d", str(tmp_path), *args]
    result = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    return sorted(tuple(map(float, f.read_text().split())) for f in tmp_path.glob("gpu*.txt"))


def test_local_profile_runs_gpu_jobs_one_at_a_time(tmp_path):
    # without a gpu limit `--cores 8` runs the three GPU jobs together ...
    together = gpu_intervals(tmp_path, "--cores", "8")
    assert any(b[0] < a[1] for a, b in zip(together, together[1:], strict=False)), together
    # ... with the local profile one after the other
    one_by_one = gpu_intervals(tmp_path, "--profile", str(PROFILES / "local"), "--cores", "8")
    assert all(b[0] >= a[1] for a, b in zip(one_by_one, one_by_one[1:], strict=False)), one_by_one


# -- a one-node SLURM cluster on localhost ----------------------------------------------------------------


def sbin(name: str) -> str:
    """The cluster program ``name``; a skip naming the Debian packages missing (a failure in CI)."""
    return system_executables(SLURM_PROGRAMS)[name]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def node_hardware() -> dict[str, int]:
    """CPUs and RealMemory (MB) as slurmd itself detects them."""
    out = subprocess.run([sbin("slurmd"), "-C"], capture_output=True, text=True, check=True).stdout
    found = dict(re.findall(r"(\w+)=(\d+)", out))
    return {"CPUs": int(found["CPUs"]), "RealMemory": int(found["RealMemory"])}


SLURM_CONF = """\
# A one-node cluster on localhost for tests/test_slurm.py; every path is under {root}.
ClusterName=neuroface-test
SlurmctldHost=localhost
SlurmctldPort={ctld_port}
SlurmdPort={slurmd_port}
AuthType=auth/munge
AuthInfo=socket={root}/run/munge.socket
SlurmUser=root
SlurmdUser=root
StateSaveLocation={root}/state
SlurmdSpoolDir={root}/spool
SlurmctldPidFile={root}/run/slurmctld.pid
SlurmdPidFile={root}/run/slurmd.pid
SlurmctldLogFile={root}/log/slurmctld.log
SlurmdLogFile={root}/log/slurmd.log
# no cgroups: processes tracked through /proc, no task binding or accounting daemon
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
# cons_tres schedules GPUs (--gpus) as well as cores and memory
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
GresTypes=gpu
MpiDefault=none
ReturnToService=2
# finished jobs stay visible to squeue/scontrol for an hour (there is no sacct database)
MinJobAge=3600
{overrides}
NodeName=localhost NodeAddr=127.0.0.1 CPUs={CPUs} RealMemory={RealMemory} Gres=gpu:1 State=UNKNOWN
PartitionName=main Nodes=localhost Default=YES MaxTime=INFINITE State=UP
"""

# No GPU is needed: Slurm hands out /dev/null as the one "GPU" device (CUDA_VISIBLE_DEVICES=0 in the job).
GRES_CONF = "NodeName=localhost Name=gpu Count=1 File=/dev/null\n"

# snakemake-executor-plugin-slurm-jobstep removes every SLURM_* variable, SLURM_CONF included, before it
# starts the job step with srun; this cluster's configuration is not in /etc/slurm, so srun gets it back here.
SRUN_SHIM = '#!/bin/sh\nSLURM_CONF="{conf}" exec "{srun}" "$@"\n'


@dataclass
class Cluster:
    root: Path
    env: dict[str, str]
    daemons: list[subprocess.Popen] = field(default_factory=list)

    def run(self, *cmd: str) -> str:
        return subprocess.run(cmd, env=self.env, capture_output=True, text=True, check=True, timeout=60).stdout

    def logs(self) -> str:
        logs = sorted((self.root / "log").iterdir())
        return "\n".join(f"== {p.name}\n{p.read_text(errors='replace')[-3000:]}" for p in logs)

    def start(self, *cmd: str, name: str) -> None:
        with open(self.root / "log" / f"{name}.out", "w") as out:
            self.daemons.append(
                subprocess.Popen(cmd, env=self.env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
            )

    def wait_for(self, what: str, ready, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                if ready():
                    return
            except (subprocess.SubprocessError, OSError):
                pass
            dead = [d.args[0] for d in self.daemons if d.poll() is not None]
            if dead or time.monotonic() > deadline:
                pytest.fail(f"{what} not ready ({'exited: ' + ', '.join(dead) if dead else 'timeout'}):\n{self.logs()}")
            time.sleep(0.5)

    def jobs(self) -> list[dict[str, str]]:
        """Every job slurmctld knows (finished ones included), as ``scontrol --details show job`` key/value pairs."""
        out = self.run("scontrol", "--details", "show", "job", "--oneliner")
        return [dict(re.findall(r"(\S+?)=(\S*)", line)) for line in out.splitlines() if line.startswith("JobId=")]

    def stop(self) -> None:
        """Cancel what is still queued, then end the daemons this cluster started, by pid, newest first."""
        try:
            self.run("scancel", "--user", "root")
        except (subprocess.SubprocessError, OSError):
            pass
        for daemon in reversed(self.daemons):
            if daemon.poll() is None:
                daemon.terminate()
                try:
                    daemon.wait(20)
                except subprocess.TimeoutExpired:
                    daemon.kill()
                    daemon.wait()


@pytest.fixture
def cluster(tmp_path) -> Iterator[Cluster]:
    """munged, slurmctld and slurmd on localhost, with one (fake) GPU; state, spool and logs in a temporary
    directory (copied to ``tmp_path/slurm-logs`` at the end), daemons ended by pid at teardown."""
    if os.geteuid() != 0:
        pytest.skip("a SLURM cluster on localhost needs root (munged, slurmctld and slurmd run as root)")
    programs = system_executables(SLURM_PROGRAMS)  # a skip naming every Debian package missing
    daemons = {name: programs[name] for name in ("munged", "slurmctld", "slurmd")}
    srun = programs["srun"]
    hardware = node_hardware()
    # the largest memory request of the profile must fit on the node: declare it when the machine has less
    wanted = max(r.get("mem_mb", 0) for r in resource_settings(profile("slurm")))
    # munged insists that every directory on its socket's path is world-searchable (pytest's tmp_path is not)
    root = Path(tempfile.mkdtemp(prefix="neuroface-slurm-"))
    root.chmod(0o755)
    for sub, mode in (("etc", 0o755), ("run", 0o755), ("state", 0o700), ("spool", 0o700), ("log", 0o755)):
        (root / sub).mkdir(mode=mode)
        (root / sub).chmod(mode)
    (root / "munge").mkdir(mode=0o700)
    key = root / "munge" / "munge.key"
    key.write_bytes(secrets.token_bytes(1024))
    key.chmod(0o400)

    overrides = ""
    if hardware["RealMemory"] < wanted:
        hardware["RealMemory"] = wanted
        overrides = "# this machine has less memory than the profile asks for: use the declared values\n"
        overrides += "SlurmdParameters=config_overrides"
    conf = root / "etc" / "slurm.conf"
    conf.write_text(
        SLURM_CONF.format(root=root, ctld_port=free_port(), slurmd_port=free_port(), overrides=overrides, **hardware)
    )
    (root / "etc" / "gres.conf").write_text(GRES_CONF)
    (root / "bin").mkdir()
    shim = root / "bin" / "srun"
    shim.write_text(SRUN_SHIM.format(conf=conf, srun=srun))
    shim.chmod(0o755)
    env = {**os.environ, "SLURM_CONF": str(conf), "PATH": f"{root / 'bin'}{os.pathsep}{os.environ['PATH']}"}
    env.pop("SNAKEMAKE_PROFILE", None)

    cluster = Cluster(root, env)
    socket_path = root / "run" / "munge.socket"
    try:
        cluster.start(
            daemons["munged"], "--foreground", f"--key-file={key}", f"--socket={socket_path}",
            f"--pid-file={root / 'run' / 'munged.pid'}", f"--seed-file={root / 'munge' / 'munged.seed'}",
            f"--log-file={root / 'log' / 'munged.log'}", name="munged",
        )  # fmt: skip
        cluster.wait_for("munged", socket_path.exists)
        cluster.start(daemons["slurmctld"], "-D", "-f", str(conf), name="slurmctld")
        cluster.start(daemons["slurmd"], "-D", "-N", "localhost", "-f", str(conf), name="slurmd")
        cluster.wait_for("the node", lambda: cluster.run("sinfo", "--noheader", "--format=%t").strip() == "idle")
        yield cluster
    finally:
        cluster.stop()
        shutil.copytree(root / "log", tmp_path / "slurm-logs", dirs_exist_ok=True)
        shutil.rmtree(root, ignore_errors=True)


def test_slurm_profile_runs_every_job_on_the_cluster_as_a_local_run_would(cluster, tiny, tmp_path):
    # a few jobs of each kind: the FAN stage (pretrain_fan, finetune_fan, landmark_accuracy and their cross-fitted
    # versions: GPU; fan_split: CPU) and one participant's recordings tracked with each model (track_landmarks:
    # GPU) and reconstructed in 3D (CPU) ...
    local = tiny  # the session's tiny run, made locally (--cores 2) with the same config and code
    participant = sorted(p.stem for p in (local / "results/landmarks3d/finetuned_cf").glob("*.parquet"))[0]
    targets = ["results/landmarks/per_image.tsv", "results/landmarks/crossfit_per_image.tsv"]
    targets += [
        f"results/landmarks3d/{model}/{participant}.parquet" for model in ("pretrained", "finetuned", "finetuned_cf")
    ]
    # ... from the same inputs (synthetic recordings, validated annotations, annotated frames): the local run's
    # results are copied (without Snakemake's metadata) and the FAN stage and what follows it are run again
    remote = new_workdir(tmp_path / "slurm")
    shutil.copytree(local / "results", remote / "results", symlinks=True)
    log = snakemake(
        remote,
        *targets,  # first: --forcerun takes every argument that follows it
        "--profile", str(PROFILES / "slurm"),
        # this cluster has no accounting database for sacct; squeue sees finished jobs for MinJobAge
        "--slurm-status-command", "squeue",
        "--slurm-init-seconds-before-status-checks", "1",
        "--slurm-keep-successful-logs",
        "--forcerun", "fan_split", "pretrain_fan",
        log_name="run.log",
        cores=None,
        env=cluster.env,
    )  # fmt: skip

    # every job that is not a local rule ran as a SLURM job, of its rule and wildcards, and succeeded
    submitted = [j for j in logged_jobs(log) if not j.local]
    assert {j.rule for j in submitted} == CNN_RULES | {"fan_split", "reconstruct_3d"}, submitted
    slurm = {record["Comment"]: record for record in cluster.jobs()}
    missing = [j.slurm_comment for j in submitted if j.slurm_comment not in slurm]
    assert not missing, f"jobs that did not run as SLURM jobs: {missing}\nSLURM jobs: {sorted(slurm)}"
    assert len(slurm) == len(submitted), f"SLURM jobs without a Snakemake job: {sorted(slurm)}"
    for job in submitted:
        record = slurm[job.slurm_comment]
        assert (record["JobState"], record["ExitCode"]) == ("COMPLETED", "0:0"), record
        # inside it, Snakemake ran this very job: the SLURM job's own output announces and finishes it
        inside = Path(record["StdOut"]).read_text(errors="replace")
        ran = [(j.rule, j.wildcards) for j in logged_jobs(inside)]
        assert ran and set(ran) == {(job.rule, job.wildcards)}, (job, ran)
        assert re.search(rf"^Finished jobid: \d+ \(Rule: {job.rule}\)$", inside, re.MULTILINE), inside[-2000:]
        # the tiny config runs FAN on the CPU, so no job declares a GPU, asks SLURM for one or gets one
        # (test_slurm_profile_requests_gpus_only_for_fan_rules_on_cuda plans a CUDA config)
        gpu = job.resources.get("gpu") == "1"
        assert not gpu, job
        gpu_request = "gres:gpu:1" in record.get("TresPerJob", "") + record.get("TresPerNode", "")
        gpu_allocated = record.get("JOB_GRES", "").startswith("gpu:1")
        assert gpu_request == gpu and gpu_allocated == gpu, (job.rule, record)

    # the results equal the local run's
    ours, theirs = result_files(local), result_files(remote)
    assert ours.keys() == theirs.keys(), sorted(ours.keys() ^ theirs.keys())
    differing = [name for name in ours if not same_result(ours[name], theirs[name])]
    assert not differing, f"results that differ between the local and the SLURM run: {differing}"

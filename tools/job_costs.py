"""Where a run's CPU time went, per rule, exactly: every rule script logs its job's CPU time (child
processes included) and peak memory as its last line (``workflow/scripts/_bootstrap.py``); this
sums those lines per rule, mapping each log file to its rule through Snakemake's own run logs
(``.snakemake/log/``). Snakemake's ``benchmark:`` files sample CPU time instead (each second for
30 s, then every 30 s) and miss what a job spends after its last sample.

    PYTHONPATH=src python tools/job_costs.py WORKDIR [--total CPU_S]

``--total``: the run's whole CPU time (``/usr/bin/time``'s user + system of ``snakemake``), so that
the remainder (Snakemake itself, rules without a script) is printed too.
"""

from __future__ import annotations

import argparse
import re
from collections import defaultdict
from pathlib import Path

from neuroface.scale import logged_cost

RULE = re.compile(r"^(?:local)?rule (\w+):$")
LOG = re.compile(r"^\s+log: (.+)$")


def rule_of_log(workdir: Path) -> dict[str, str]:
    """Log path (relative to the work directory) -> the rule whose job wrote it, from Snakemake's run logs."""
    owner: dict[str, str] = {}
    for run_log in sorted((workdir / ".snakemake" / "log").glob("*.snakemake.log")):
        rule = None
        for line in run_log.read_text().splitlines():
            if m := RULE.match(line):
                rule = m.group(1)
            elif (m := LOG.match(line)) and rule:
                for path in m.group(1).split(", "):
                    owner[path.strip()] = rule
    return owner


def job_costs(workdir: Path) -> dict[str, list[tuple[float, float]]]:
    """Rule -> [(CPU-s, peak MB)] of each job, from the last cost line of each log file."""
    owner = rule_of_log(workdir)
    costs: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for log in sorted((workdir / "logs").rglob("*.log")):
        cost = logged_cost(log)
        if cost is not None:
            costs[owner.get(str(log.relative_to(workdir)), f"? {log.parent.relative_to(workdir)}")].append(cost)
    return costs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workdir", type=Path)
    parser.add_argument("--total", type=float, help="the run's whole CPU-s (user + system of snakemake)")
    args = parser.parse_args()
    costs = job_costs(args.workdir)
    if not costs:
        raise SystemExit(f"{args.workdir}: no 'job cost' line in any log under logs/")
    jobs_cpu = sum(c for jobs in costs.values() for c, _ in jobs)
    whole = args.total or jobs_cpu
    print("| rule | jobs | CPU-s | CPU-s per job | share | peak MB (max) |")
    print("|---|---|---|---|---|---|")
    for rule, jobs in sorted(costs.items(), key=lambda kv: -sum(c for c, _ in kv[1])):
        cpu = sum(c for c, _ in jobs)
        print(
            f"| {rule} | {len(jobs)} | {cpu:,.0f} | {cpu / len(jobs):.1f} | {cpu / whole:.0%} "
            f"| {max(p for _, p in jobs):,.0f} |"
        )
    n = sum(len(jobs) for jobs in costs.values())
    print(f"| all jobs | {n} | {jobs_cpu:,.0f} | {jobs_cpu / n:.1f} | {jobs_cpu / whole:.0%} | |")
    if args.total:
        print(f"| Snakemake and the rest | | {args.total - jobs_cpu:,.0f} | | {1 - jobs_cpu / args.total:.0%} | |")


if __name__ == "__main__":
    main()

"""Make the in-repo package importable from rule scripts (also inside per-rule conda envs), report bad
input as one line on the console (the traceback goes to the rule's log), and hold the native thread pools
(OpenCV, BLAS/OpenMP) to the job's ``threads``: ``snakemake --cores 8`` on a 2-core machine then runs
8 single-threaded jobs, not 8 jobs that each start a thread per core. ``fan.cpu_isa`` caps the instruction
set of PyTorch's and oneDNN's CPU kernels (set here, before any script imports torch). On exit, a job
logs its exact CPU time and peak memory (``tools/job_costs.py`` sums them per rule)."""

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src"))

from neuroface.errors import report_input_errors  # noqa: E402

report_input_errors()

_job = getattr(sys.modules.get("__main__"), "snakemake", None)  # the object Snakemake gives the script
if _job is not None:
    from neuroface.cpu_isa import cpu_isa_environment

    os.environ.update(cpu_isa_environment((getattr(_job, "config", None) or {}).get("fan", {}).get("cpu_isa")))
    try:  # not every rule's environment has OpenCV or scikit-learn's threadpoolctl
        import cv2

        cv2.setNumThreads(int(_job.threads))
    except ImportError:
        pass
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(int(_job.threads))
    except ImportError:
        pass

    import atexit
    import logging

    try:  # POSIX only; elsewhere the jobs run without their cost line
        import resource
    except ImportError:
        resource = None

    def _log_job_cost() -> None:
        """The job's exact CPU time (its child processes included) and peak memory, as the last line
        of its log (read by ``tools/job_costs.py``): Snakemake's ``benchmark:`` samples CPU time and
        misses what a job spends after its last sample."""
        own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        user, system = own.ru_utime + children.ru_utime, own.ru_stime + children.ru_stime
        logging.getLogger("neuroface").info(
            "job cost: %.2f CPU-s (%.2f user + %.2f system), peak %.0f MB resident",
            user + system,
            user,
            system,
            max(_own_peak_kb(own.ru_maxrss), children.ru_maxrss) / 1024,
        )

    def _own_peak_kb(fallback: int) -> int:
        """This process's peak resident memory (kB): Linux's VmHWM, which starts afresh at exec, unlike
        ``ru_maxrss``, which keeps the peak of the forking Snakemake process."""
        try:
            with open("/proc/self/status") as status:
                return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
        except (OSError, StopIteration, ValueError):
            return fallback

    if resource is not None:
        atexit.register(_log_job_cost)

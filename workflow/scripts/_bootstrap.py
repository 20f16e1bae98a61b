"""Make the in-repo package importable from rule scripts (also inside per-rule conda envs), and
report bad input as one line on the console (the traceback goes to the rule's log)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src"))

from neuroface.errors import report_input_errors  # noqa: E402

report_input_errors()

"""Make the in-repo package importable from rule scripts (also inside per-rule conda envs)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src"))

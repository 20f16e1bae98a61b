"""Exceptions for problems in the user's input files, and how rule scripts report them."""

from __future__ import annotations

import os
import sys
import traceback


class InputError(ValueError):
    """Bad user input; the message names the file, the line (if any) and the problem.

    ``line`` counts the header as line 1, as a text editor or spreadsheet shows it.
    """

    def __init__(self, path: str | os.PathLike[str], problem: str, line: int | None = None):
        self.path = os.fspath(path)
        self.problem = problem
        self.line = line
        where = self.path if line is None else f"{self.path}: line {line}"
        super().__init__(f"{where}: {problem}")

    def __reduce__(self):
        """Pickle with the constructor's arguments (e.g. across worker processes)."""
        return type(self), (self.path, self.problem, self.line)


def _report(exc_type, exc, tb, fallback=sys.excepthook) -> None:
    """``sys.excepthook`` of rule scripts: an :class:`InputError` becomes one line on the console
    (``InputError: <file>: line <n>: <problem>``), its traceback goes to the job's log only."""
    if not issubclass(exc_type, InputError):
        fallback(exc_type, exc, tb)
        return
    console = sys.__stderr__
    if sys.stderr is not console and sys.stderr is not None:  # the rule's log (io.setup_logging)
        traceback.print_exception(exc_type, exc, tb, file=sys.stderr)
        sys.stderr.flush()
    if console is not None:
        console.write(f"InputError: {' '.join(str(exc).split())}\n")
        console.flush()


def report_input_errors() -> None:
    """Make an uncaught :class:`InputError` end a rule script with one readable line on the
    console, naming file, line and problem, instead of a traceback (which goes to the log)."""
    sys.excepthook = _report

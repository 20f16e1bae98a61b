"""Exceptions for problems in the user's input files."""

from __future__ import annotations

import os


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

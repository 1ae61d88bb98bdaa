"""The exceptions of the package: one base class, one per way a call can fail."""

from __future__ import annotations

from typing import List


class CascadesimError(Exception):
    """Base class of every error this package raises on purpose."""


class ScenarioError(CascadesimError, ValueError):
    """The binary refused its input (exit status 2): an invalid scenario, a bad argument,
    a file in the way. The message is the binary's stderr, every problem at once, e.g.

        error: bad.toml: 2 problems found
          bad.toml:5:18: simulation.start_hour_utc: must be in [0, 24) hours, found 25
          ...
    """

    @property
    def problems(self) -> List[str]:
        """The indented lines of the message: one per problem (empty for a one-line error)."""
        return [line.strip() for line in str(self).splitlines() if line.startswith("  ")]


class RunError(CascadesimError, RuntimeError):
    """The binary failed for another reason (exit status 1: I/O and the like)."""

    def __init__(self, message: str, returncode: int = 1):
        super().__init__(message)
        self.returncode = returncode


class BinaryNotFoundError(CascadesimError, FileNotFoundError):
    """No cascadesim binary where one was looked for (the message lists the places)."""


class ResultsError(CascadesimError, ValueError):
    """A file or folder that is not a cascadesim results file (or is a shard, to merge
    first)."""


class CascadesimWarning(UserWarning):
    """A warning the binary printed on a successful run (an unreliable rare-event estimate,
    a figure it could not draw, a traced path id beyond the run)."""

"""Finding the cascadesim binary and running it: exit codes become Python exceptions."""

from __future__ import annotations

import os
import shutil
import subprocess
import warnings
from pathlib import Path
from typing import List, Optional, Sequence, Union

from ._errors import BinaryNotFoundError, CascadesimWarning, RunError, ScenarioError

PathLike = Union[str, "os.PathLike[str]"]

#: The environment variable naming the binary; it wins over everything but `binary=`.
ENV_VAR = "CASCADESIM_BIN"


def _repository_candidates() -> List[Path]:
    """`target/release/cascadesim` (under `CARGO_TARGET_DIR` when set) of every cascadesim
    checkout above the current folder or above this file (an editable install)."""
    seen: List[Path] = []
    for start in (Path.cwd(), Path(__file__).resolve().parent):
        for folder in (start, *start.parents):
            cargo = folder / "Cargo.toml"
            if cargo.is_file() and 'name = "cascadesim"' in cargo.read_text(errors="replace"):
                # Cargo builds into CARGO_TARGET_DIR when it is set (relative: to the checkout).
                target = folder / os.environ.get("CARGO_TARGET_DIR", "target")
                candidate = target / "release" / "cascadesim"
                if candidate not in seen:
                    seen.append(candidate)
    return seen


def find_binary(binary: Optional[PathLike] = None) -> str:
    """The path of the cascadesim binary to run.

    Looked for in this order: the `binary` argument, the `CASCADESIM_BIN` environment
    variable, `cascadesim` on `PATH`, then `target/release/cascadesim` (or
    `$CARGO_TARGET_DIR/release/cascadesim`) of a cascadesim checkout containing the current
    folder (or this package's source).

    Raises:
        BinaryNotFoundError: naming every place looked in.
    """
    if binary is not None:
        path = Path(binary)
        if path.is_file() and os.access(path, os.X_OK):
            return str(path)
        raise BinaryNotFoundError(f"binary={str(binary)!r} is not an executable file")
    env = os.environ.get(ENV_VAR)
    if env:
        path = Path(env)
        if path.is_file() and os.access(path, os.X_OK):
            return str(path)
        raise BinaryNotFoundError(f"{ENV_VAR}={env!r} is not an executable file")
    on_path = shutil.which("cascadesim")
    if on_path:
        return on_path
    repos = _repository_candidates()
    for candidate in repos:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    tried = [
        f"the {ENV_VAR} environment variable (not set)",
        "`cascadesim` on PATH (not found; `cargo install --path .` puts it there)",
    ]
    if repos:
        tried += [f"{c} (not built; `cargo build --release`)" for c in repos]
    else:
        tried.append(
            "target/release/cascadesim of a cascadesim checkout containing the current "
            "folder (none found)"
        )
    raise BinaryNotFoundError(
        "cannot find the cascadesim binary; looked at:\n  - " + "\n  - ".join(tried)
    )


def invoke(args: Sequence[str], binary: Optional[PathLike] = None) -> subprocess.CompletedProcess:
    """Run `cascadesim ARGS...`, capturing its output.

    On success, every `warning: ...` line of the binary's stderr is issued as a
    `CascadesimWarning`. Exit status 2 (bad input: a scenario, argument or file) raises
    `ScenarioError` with the binary's stderr as the message; 130 raises `KeyboardInterrupt`;
    any other non-zero status raises `RunError`.
    """
    exe = find_binary(binary)
    proc = subprocess.run(
        [exe, *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        errors="replace",
    )
    if proc.returncode == 0:
        for line in proc.stderr.splitlines():
            if line.startswith("warning: "):
                warnings.warn(line[len("warning: ") :], CascadesimWarning, stacklevel=3)
        return proc
    message = proc.stderr.strip() or proc.stdout.strip() or f"exit status {proc.returncode}"
    if proc.returncode == 2:
        raise ScenarioError(message)
    if proc.returncode == 130:
        raise KeyboardInterrupt(message)
    raise RunError(message, returncode=proc.returncode)

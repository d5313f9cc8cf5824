"""`python -m nbgrad.distributed.run -n 4 train.py [args]`: exec mpiexec on this Python.

Nothing of its own: it finds mpiexec (next to this interpreter, as the mpich wheel installs it,
else on PATH) and replaces itself with `mpiexec <mpiexec options> <python> <script> <args>`."""

from __future__ import annotations

import os
import shutil
import sys


def mpiexec_path() -> str:
    """The mpiexec next to sys.executable (the mpich wheel's), else the one on PATH."""
    here = os.path.join(os.path.dirname(sys.executable), "mpiexec")
    if os.access(here, os.X_OK):
        return here
    found = shutil.which("mpiexec")
    if found is None:
        raise FileNotFoundError('mpiexec not found: pip install "nbgrad[distributed]" installs MPICH\'s')
    return found


def command(argv: list[str]) -> list[str]:
    """mpiexec's command line for argv = [mpiexec options..., script, script args...]: the
    first argument ending in .py (or after "--") is the script."""
    for i, a in enumerate(argv):
        if a == "--":
            return [mpiexec_path(), *argv[:i], sys.executable, *argv[i + 1:]]
        if a.endswith(".py"):
            return [mpiexec_path(), *argv[:i], sys.executable, *argv[i:]]
    raise SystemExit("usage: python -m nbgrad.distributed.run [mpiexec options] script.py [args]  "
                     "(or: [mpiexec options] -- -m module [args])")


def main(argv: list[str] | None = None) -> None:
    cmd = command(sys.argv[1:] if argv is None else argv)
    os.execv(cmd[0], cmd)


if __name__ == "__main__":
    main()

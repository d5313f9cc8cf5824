"""Command line: `nbgrad-tui demo [NAME] | demo --list | run [OPTIONS] SCRIPT.py [ARGS...] | --version`.

Nothing here imports Textual or Rich at import time: without the [tui] extra the
command still says what it needs.

Under mpiexec (`mpiexec -n 2 nbgrad-tui run train.py`) every rank runs this command: rank 0
(or --rank K) opens the debugger, or exports; the other ranks run the script as plain Python."""

from __future__ import annotations

import argparse
import os
import runpy
import sys
import traceback
from typing import Any

USAGE = ("usage: nbgrad-tui [--version] {demo [NAME] [--list] | "
         "run [--every N] [--calls A:B] [--export DIR] [--rank K] SCRIPT.py [ARGS...]}")
INSTALL = ("nbgrad-tui: the debugger needs Textual, which is not installed here. Install it with\n"
           "    pip install 'nbgrad[tui]'        (or: pip install textual==8.2.8)\n"
           "(run --export DIR SCRIPT.py works without it.)")
_TOOL_DIR = os.path.dirname(os.path.abspath(__file__))


# the MPI launchers' environment variables: (rank, world size), in the order they are read
MPI_ENV = (("PMI_RANK", "PMI_SIZE"), ("OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE"), ("PMIX_RANK", "PMIX_SIZE"))


def _env_int(name: str, env: Any) -> int | None:
    try:
        return int(env[name])
    except (KeyError, ValueError):
        return None


def mpi_rank(env: Any = None) -> tuple[int, int | None] | None:
    """(rank, world size or None when the launcher does not say) of this process when an MPI
    launcher started it (PMI_RANK: MPICH's hydra; OMPI_COMM_WORLD_RANK: Open MPI; PMIX_RANK);
    None when not under MPI."""
    env = os.environ if env is None else env
    for rank_var, _ in MPI_ENV:
        rank = _env_int(rank_var, env)
        if rank is not None:
            break
    else:
        return None
    size = next((n for _, size_var in MPI_ENV if (n := _env_int(size_var, env)) is not None), None)
    return rank, size


def _err(msg: str) -> None:
    print(f"nbgrad-tui: {msg}", file=sys.stderr)


def version() -> str:
    from importlib import metadata

    try:
        v = metadata.version("nbgrad")
    except metadata.PackageNotFoundError:
        v = "unknown"
    try:
        tv = f"textual {metadata.version('textual')}"
    except metadata.PackageNotFoundError:
        tv = "textual not installed"
    return f"nbgrad-tui {v} ({tv}, Python {sys.version.split()[0]})"


def have_textual() -> bool:
    try:
        import rich  # noqa: F401
        import textual  # noqa: F401
    except ImportError:
        return False
    return True


def _is_tool_frame(filename: str) -> bool:
    f = os.path.abspath(filename)
    return f.startswith(_TOOL_DIR + os.sep) or os.path.basename(f) == "runpy.py" or filename == "<frozen runpy>"


def format_script_error(exc: BaseException) -> str:
    """The traceback Python would print for the script: every frame of this tool left out."""
    te = traceback.TracebackException(type(exc), exc, exc.__traceback__)
    todo = [te]
    while todo:
        t = todo.pop()
        t.stack[:] = [f for f in t.stack if not _is_tool_frame(f.filename)]
        todo.extend(x for x in (t.__cause__, t.__context__) if x is not None)
    return "".join(te.format())


def parse_calls(text: str) -> tuple[int, int | None]:
    """--calls A:B (1-based, inclusive; A: and :B open-ended; A alone is one call)."""
    lo, sep, hi = text.partition(":")
    try:
        first = int(lo) if lo else 1
        last = (int(hi) if hi else None) if sep else first
    except ValueError:
        raise argparse.ArgumentTypeError(f"--calls takes A:B (backward call numbers from 1), not {text!r}") from None
    if first < 1 or (last is not None and last < first):
        raise argparse.ArgumentTypeError(f"--calls {text}: calls are numbered from 1 and A <= B")
    return first, last


def _positive(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        n = 0
    if n < 1:
        raise argparse.ArgumentTypeError(f"--every takes a whole number >= 1, not {text!r}")
    return n


def _rank(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        n = -1
    if n < 0:
        raise argparse.ArgumentTypeError(f"--rank takes an MPI rank (a whole number >= 0), not {text!r}")
    return n


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="nbgrad-tui", description="Step through nbgrad backward passes in the terminal.")
    p.add_argument("--version", action="version", version=version())
    sub = p.add_subparsers(dest="cmd")
    d = sub.add_parser("demo", help="open a built-in example")
    d.add_argument("name", nargs="?", default="seed")
    d.add_argument("--list", action="store_true", help="list the demos")
    r = sub.add_parser("run", help="run a script; its backward calls open in the debugger",
                       description="Run SCRIPT.py with ARGS; each backward call it makes (Tensor.backward(), "
                                   "scalar Value.backward()) opens in the debugger. q closes one call, Q stops "
                                   "debugging and lets the script run on. The script's exit status, stdout and "
                                   "stderr are its own. Under mpiexec (mpiexec -n 2 nbgrad-tui run train.py) "
                                   "rank 0, or --rank K, opens the debugger (or exports) and the other ranks run "
                                   "the script as plain Python; DistributedDataParallel's gradient allreduces "
                                   "show in the event log.")
    r.add_argument("--every", type=_positive, default=1, metavar="N", help="open every N-th backward call (1, 1+N, ...)")
    r.add_argument("--calls", type=parse_calls, metavar="A:B", help="open the backward calls A to B (from 1, inclusive)")
    r.add_argument("--export", metavar="DIR", help="no terminal: write each opened call's graph (DOT, SVG) and step "
                   "log (JSON), and the gradient flow, into DIR")
    r.add_argument("--rank", type=_rank, default=None, metavar="K",
                   help="under mpiexec: the rank that opens the debugger (or exports); default 0. The other "
                   "ranks run the script as plain Python. mpiexec passes what you type to rank 0: to debug "
                   "another rank, give mpiexec < /dev/null. Outside MPI only --rank 0 is accepted")
    r.add_argument("script")
    r.add_argument("args", nargs=argparse.REMAINDER)
    for sp in (d, r):  # for tests and scripted sessions: no terminal
        sp.add_argument("--auto", action="store_true", help=argparse.SUPPRESS)
        sp.add_argument("--keys", help=argparse.SUPPRESS)
        sp.add_argument("--transcript", help=argparse.SUPPRESS)
    return p


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv:
        print(USAGE, file=sys.stderr)
        print("Try 'nbgrad-tui --help' or 'nbgrad-tui demo'.", file=sys.stderr)
        return 2
    a = _parser().parse_args(argv)
    if a.cmd is None:
        print(USAGE, file=sys.stderr)
        return 2
    if a.cmd == "demo":
        return _demo(a)
    return _run(a)


def _debugger(a: Any, label: str, mpi_rank: int | None = None, **kw: Any) -> Any:
    """The Debugger for these options, or an exit status when it cannot open."""
    from .runner import Debugger, Pick

    export = getattr(a, "export", None)
    headless = export is not None or a.auto or a.keys is not None
    if export is None and not have_textual():
        print(INSTALL, file=sys.stderr)
        return 1
    driver = None
    if not headless:
        from .terminal import NoTerminal, driver_class

        try:
            driver = driver_class(mpi_rank)
        except NoTerminal as e:
            _err(str(e))
            return 2
    first, last = getattr(a, "calls", None) or (1, None)
    keys = None if a.keys is None else [k for k in a.keys.split(",") if k]
    return Debugger(label, pick=Pick(getattr(a, "every", 1), first, last), export_dir=export, auto=a.auto,
                    keys=keys, driver=driver, transcript=a.transcript, **kw)


def _demo(a: Any) -> int:
    from . import demos

    if a.list:
        for name, doc in demos.describe():
            print(f"{name:7s} {doc}")
        return 0
    if a.name not in demos.DEMOS:
        _err(f"unknown demo {a.name!r}; available: {', '.join(demos.DEMOS)}")
        return 2
    dbg = _debugger(a, f"demo {a.name}")
    if isinstance(dbg, int):
        return dbg
    dbg.start()
    try:
        demos.play(a.name, dbg)
    finally:
        dbg.stop()
    return 0


def _run(a: Any) -> int:
    path = a.script
    if not os.path.exists(path):
        _err(f"can't open file {path!r}: no such file")
        return 2
    if os.path.isdir(path) and not os.path.exists(os.path.join(path, "__main__.py")):
        _err(f"{path!r} is a directory with no __main__.py: give a script")
        return 2
    label = os.path.basename(os.path.normpath(path))
    place = mpi_rank()
    want = 0 if a.rank is None else a.rank
    title = None
    if place is None:
        if want != 0:
            _err(f"--rank {want}: this is not an MPI job (none of PMI_RANK, OMPI_COMM_WORLD_RANK, PMIX_RANK is "
                 f"set), so there is only rank 0. Launch it with mpiexec, e.g. "
                 f"mpiexec -n {want + 1} nbgrad-tui run --rank {want} {path}")
            return 2
    else:
        rank, size = place
        if size is not None and want >= size:
            _err(f"--rank {want}: the MPI job has {size} rank{'s' if size != 1 else ''} (0 to {size - 1})")
            return 2
        if want != 0 and a.export is None and not a.auto and a.keys is None:
            from .terminal import keys_refused, launcher_reads_keys

            if launcher_reads_keys():  # mpiexec takes the keys: rank K would get none, so every rank stops
                if rank == want:
                    _err(keys_refused(want))
                return 2
        if rank != want:
            return run_script(path, a.args, None)  # not the rank being debugged: plain Python
        title = f"{label} (rank {rank} of {size})" if size is not None else f"{label} (rank {rank})"
    dbg = _debugger(a, label, mpi_rank=None if place is None else place[0], title=title)
    if isinstance(dbg, int):
        if place is not None:
            _leave_job()
        return dbg
    return run_script(path, a.args, dbg)


def _leave_job() -> None:
    """The debugging rank cannot open the debugger: join the process group, so that leaving it
    (at exit) tells the other ranks, which then stop instead of waiting for this one."""
    try:
        import nbgrad.distributed as dist

        if dist.is_mpi_available() and not dist.is_initialized():
            dist.init_process_group("mpi")
    except Exception:  # noqa: BLE001 - best effort: the error that matters is already printed
        pass


def run_script(path: str, args: list[str], dbg: Any) -> int:
    """Run the script under the debugger (dbg None: as plain Python, as the ranks not being
    debugged do); its exit status (Python's: 1 for an uncaught error)."""
    old_argv, old_path = sys.argv, list(sys.path)
    sys.argv = [path, *args]
    sys.path.insert(0, os.path.dirname(os.path.abspath(path)))
    if dbg is not None:
        dbg.start()
    try:
        runpy.run_path(path, run_name="__main__")
    except SystemExit as e:
        code = e.code
        if code is None or isinstance(code, int):
            return code or 0
        print(code, file=sys.stderr)  # sys.exit("message"): Python prints it and exits with 1
        return 1
    except KeyboardInterrupt as e:
        sys.stderr.write(format_script_error(e))
        return 130
    except BaseException as e:
        sys.stderr.write(format_script_error(e))
        return 1
    finally:
        if dbg is not None:
            dbg.stop()
        sys.argv, sys.path[:] = old_argv, old_path
        sys.stdout.flush()
    if dbg is not None and dbg.calls == 0:
        _err(f"{path} finished without calling .backward(): there was no backward pass to debug")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Command line: `nbgrad-tui demo [NAME] | demo --list | run SCRIPT.py [ARGS...]`."""

from __future__ import annotations

import argparse
import os
import runpy
import sys
import traceback
from typing import Any


def names_from_frame(frame: Any) -> dict[str, Any]:
    """{name: tensor} for the tensors, Values and module parameters visible where backward was called."""
    import nbgrad as ng
    from nbgrad.scalar import Value

    names: dict[str, Any] = {}
    if frame is None:
        return names
    for scope in (frame.f_globals, frame.f_locals):
        for k, v in list(scope.items()):
            if k.startswith("__"):
                continue
            if isinstance(v, (ng.Tensor, Value)):
                names[k] = v
            elif isinstance(v, ng.nn.Module):
                try:
                    for pn, p in v.named_parameters():
                        names[f"{k}.{pn}"] = p
                except Exception:
                    pass
    return names


def run_script(path: str, argv: list[str] | None = None, *, auto_continue: bool = False,
               headless: bool = False, out: Any = None) -> int:
    """Run a script with Tensor.backward (and scalar Value.backward) patched to open the debugger
    on every backward call."""
    import nbgrad as ng
    from nbgrad.scalar import Value

    from . import debug_backward
    from .groups import track_modules

    out = out or sys.stdout
    if not os.path.exists(path):
        print(f"nbgrad-tui: no such script: {path}", file=out)
        return 2
    original, original_scalar = ng.Tensor.backward, Value.backward
    calls = [0]
    history: dict[int, list[float]] = {}  # leaf gradient norms across backward calls
    watches: set[int] = set()  # watched leaves, across backward calls

    def debug(root: Any, gradient: Any = None, retain_graph: bool | None = None) -> None:
        calls[0] += 1
        tracking = sys.getprofile()
        sys.setprofile(None)  # module tracking is for the script's forward passes, not the app
        try:
            debug_backward(root, gradient, retain_graph, names=names_from_frame(sys._getframe(2)),
                           auto_continue=auto_continue, headless=headless, history=history, watches=watches,
                           title=f"{os.path.basename(path)}: backward #{calls[0]}")
        finally:
            sys.setprofile(tracking)

    def backward(self: Any, gradient: Any = None, retain_graph: bool | None = None,
                 create_graph: bool = False, inputs: Any = None) -> None:
        if create_graph or inputs is not None:
            return original(self, gradient, retain_graph, create_graph, inputs)
        debug(self, gradient, retain_graph)

    def scalar_backward(self: Any) -> None:
        debug(self)

    old_argv, old_path = sys.argv, list(sys.path)
    sys.argv = [path, *(argv or [])]
    sys.path.insert(0, os.path.dirname(os.path.abspath(path)))
    ng.Tensor.backward, Value.backward = backward, scalar_backward
    try:
        with track_modules():
            runpy.run_path(path, run_name="__main__")
    except SystemExit as e:
        if e.code not in (None, 0):
            print(f"nbgrad-tui: the script exited with status {e.code}", file=out)
    except BaseException:
        etype, value, tb = sys.exc_info()
        # drop our own frames: show the traceback from the script down
        while tb is not None and tb.tb_frame.f_code.co_filename != os.path.abspath(path) \
                and tb.tb_frame.f_code.co_filename != path:
            tb = tb.tb_next
        print(f"nbgrad-tui: the script raised {etype.__name__}:", file=out)
        print("".join(traceback.format_exception(etype, value, tb or value.__traceback__)), end="", file=out)
        return 1
    finally:
        ng.Tensor.backward, Value.backward = original, original_scalar
        sys.argv, sys.path[:] = old_argv, old_path
    if calls[0] == 0:
        print(f"nbgrad-tui: {path} finished without calling .backward(); there was no backward pass to debug.",
              file=out)
    else:
        print(f"nbgrad-tui: debugged {calls[0]} backward call(s) in {path}.", file=out)
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="nbgrad-tui", description="Step through nbgrad backward passes in the terminal.")
    sub = p.add_subparsers(dest="cmd", required=True)
    d = sub.add_parser("demo", help="open a built-in example")
    d.add_argument("name", nargs="?", default="seed")
    d.add_argument("--list", action="store_true", help="list the demos")
    d.add_argument("--auto", action="store_true", help=argparse.SUPPRESS)
    r = sub.add_parser("run", help="run a script; each .backward() opens the debugger")
    r.add_argument("script")
    r.add_argument("args", nargs=argparse.REMAINDER)
    r.add_argument("--auto", action="store_true", help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if a.cmd == "demo":
        from . import demos

        if a.list:
            for name, doc in demos.describe():
                print(f"{name:7s} {doc}")
            return 0
        if a.name not in demos.DEMOS:
            print(f"nbgrad-tui: unknown demo {a.name!r}; available: {', '.join(demos.DEMOS)}", file=sys.stderr)
            return 2
        root, grad, names = demos.build(a.name)
        from . import debug_backward

        debug_backward(root, grad, retain_graph=True, names=names, auto_continue=a.auto, headless=a.auto,
                       title=f"demo {a.name}")
        return 0
    return run_script(a.script, a.args, auto_continue=a.auto, headless=a.auto)


if __name__ == "__main__":
    sys.exit(main())

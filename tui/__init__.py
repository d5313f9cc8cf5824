"""nbgrad-tui: a terminal debugger for nbgrad's backward pass."""

from __future__ import annotations

from typing import Any

__all__ = ["debug_backward", "DebuggerApp", "track_modules"]


def debug_backward(
    tensor: Any, gradient: Any = None, retain_graph: bool | None = None, *,
    names: dict | None = None, auto_continue: bool = False, headless: bool = False, title: str | None = None,
    shared: Any = None,
) -> Any:
    """Open the debugger on `tensor.backward(gradient, retain_graph)` (or a scalar Value's backward()).

    names: {name: tensor}, used for leaves and groups (default: the caller's variables and
    its modules' parameters). shared: a model.session.Shared kept between calls, so the
    leaves' sparklines, watches and breakpoints span several backward calls. When the app
    quits, the remaining steps run, so every .grad ends as backward() would leave it; an
    error the pass raised is raised here. Returns the app (its .session)."""
    from nbgrad.autograd.graph import BackwardCall
    from nbgrad.scalar import Value

    from .app import DebuggerApp
    from .model import groups
    from .model.session import CallInfo
    from .runner import CommLog, make_session, names_from_frame

    if names is None:
        import sys

        names = names_from_frame(sys._getframe(1))
    scalar = isinstance(tensor, Value)
    call = BackwardCall("scalar" if scalar else "tensor", [tensor], [gradient], retain_graph)
    session = make_session(call, names, info=CallInfo(title=title or ""), shared=shared,
                           module_calls=groups.default_tracker.calls)
    app = DebuggerApp(session, auto_continue=auto_continue)
    comm = CommLog()  # DDP's bucket allreduces, in the event log
    comm.session = session
    comm.start()
    try:
        app.run(headless=headless)
    finally:
        session.finish()
        comm.stop()
    if session.error is not None:
        raise session.error
    return app


def __getattr__(name: str) -> Any:
    if name == "track_modules":
        from .model.groups import track_modules

        return track_modules
    if name == "DebuggerApp":
        from .app import DebuggerApp

        return DebuggerApp
    raise AttributeError(name)

"""nbgrad-tui: a terminal debugger for nbgrad's backward pass."""

from __future__ import annotations

from typing import Any

__all__ = ["debug_backward", "DebuggerApp", "track_modules"]


def debug_backward(
    tensor: Any, gradient: Any = None, retain_graph: bool | None = None, *,
    names: dict | None = None, auto_continue: bool = False, headless: bool = False, title: str | None = None,
    history: dict | None = None, watches: set | None = None,
) -> Any:
    """Open the debugger on `tensor.backward(gradient, retain_graph)` (or a scalar Value's backward()).

    names: {name: tensor}, used for leaves and groups (default: the caller's
    variables and its modules' parameters). history, watches: a dict and a
    set shared between calls, so the leaves' sparklines span several backward
    calls and a watch set in one call stays set in the next.
    When the app quits, the remaining steps run, so every .grad ends as
    backward() would leave it. Returns the app (its .events, .order, .bp)."""
    from .app import DebuggerApp

    if names is None:
        import sys

        from .cli import names_from_frame

        names = names_from_frame(sys._getframe(1))
    app = DebuggerApp(tensor, gradient, retain_graph, names=names, auto_continue=auto_continue, title=title,
                      history=history, watches=watches)
    try:
        app.run(headless=headless)
    finally:
        app.finish()
    if app.error is not None:
        raise app.error
    return app


def __getattr__(name: str) -> Any:
    if name == "track_modules":
        from .groups import track_modules

        return track_modules
    if name == "DebuggerApp":
        from .app import DebuggerApp

        return DebuggerApp
    raise AttributeError(name)

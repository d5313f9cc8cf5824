"""Opening the debugger on the backward calls of a running script (or a demo).

A `Debugger` registers nbgrad's backward interceptor: every Tensor.backward() and
scalar Value.backward() call comes to it. It opens the ones picked (--every, --calls)
and lets the others run as usual; all of them feed the gradient flow. After Q it
removes everything it registered, so the script runs on undisturbed.

It also observes nbgrad.distributed's communication events: while a backward call is open
(interactive or exported), each DistributedDataParallel bucket allreduce that starts or
completes becomes a line of that call's event log."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from typing import Any, Callable

from .model.flow import GradientFlow
from .model.groups import ModuleTracker
from .model.session import CallInfo, ScalarSession, Session, Shared, TensorSession

_TOOL_DIR = os.path.dirname(os.path.abspath(__file__))


def _nbgrad_dir() -> str:
    import nbgrad

    return os.path.dirname(os.path.abspath(nbgrad.__file__))


def user_frame(frame: Any = None) -> Any:
    """The innermost frame outside nbgrad and this tool: where the user called backward()."""
    skip = (_TOOL_DIR + os.sep, _nbgrad_dir() + os.sep)
    f = frame or sys._getframe(1)
    while f is not None and os.path.abspath(f.f_code.co_filename).startswith(skip):
        f = f.f_back
    return f


def _scalar_module_params(m: Any, prefix: str) -> list[tuple[str, Any]]:
    """Names for a micrograd-style nbgrad.scalar.nn module's Values: model.<layer>.<neuron>.w<k> / .b."""
    from nbgrad.scalar import nn as snn

    if isinstance(m, snn.MLP):
        return [p for i, layer in enumerate(m.layers) for p in _scalar_module_params(layer, f"{prefix}.{i}")]
    if isinstance(m, snn.Layer):
        return [p for j, n in enumerate(m.neurons) for p in _scalar_module_params(n, f"{prefix}.{j}")]
    if isinstance(m, snn.Neuron):
        return [*((f"{prefix}.w{k}", w) for k, w in enumerate(m.w)), (f"{prefix}.b", m.b)]
    return []


def names_from_frame(frame: Any) -> dict[str, Any]:
    """{name: tensor or Value} for the variables and module parameters visible in a frame."""
    import nbgrad as ng
    from nbgrad.scalar import Value
    from nbgrad.scalar import nn as snn

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
                for pn, p in v.named_parameters():
                    names[f"{k}.{pn}"] = p
            elif isinstance(v, snn.Module):
                names.update(_scalar_module_params(v, k))
    return names


def make_session(call: Any, names: dict, *, info: CallInfo | None = None, shared: Shared | None = None,
                 module_calls: list | None = None) -> Session:
    """The session for one intercepted BackwardCall."""
    if call.kind == "scalar":
        return ScalarSession(call.make_pass, call.roots[0], names, call=info, shared=shared)
    return TensorSession(lambda: call.make_pass(record_values=True), list(call.roots), names,
                         calls=module_calls, retain_graph=bool(call.retain_graph), call=info, shared=shared)


def _size_text(nbytes: int) -> str:
    if nbytes < 1024:
        return f"{nbytes} B"
    if nbytes < 1024 * 1024:
        return f"{nbytes / 1024:.1f} KiB"
    return f"{nbytes / (1024 * 1024):.1f} MiB"


NAMES_SHOWN = 4  # parameter names written per bucket line


def suffix_names(names: Any) -> dict[str, str]:
    """{dotted suffix: the full name} for the names that end in it (model.module.2.weight gives
    module.2.weight, 2.weight and weight); a suffix of two names is left out. DDP names a
    parameter as its wrapped module does; this finds the user's name for it."""
    out: dict[str, str] = {}
    clash: set[str] = set()
    for full in names:
        parts = full.split(".")
        for i in range(len(parts)):
            suf = ".".join(parts[i:])
            if suf in out and out[suf] != full:
                clash.add(suf)
            out[suf] = full
    for suf in clash:
        del out[suf]
    return out


def comm_event_text(ev: Any, started: float | None = None, rename: dict[str, str] | None = None) -> str:
    """An event-log line for an nbgrad.distributed CommEvent (started: the perf_counter time of
    the same bucket's "start", for a "done" line; rename: suffix_names of the user's names)."""
    rename = rename or {}
    names = [rename.get(x, x) for x in ev.names[:NAMES_SHOWN]] + (
        [f"+{len(ev.names) - NAMES_SHOWN} more"] if len(ev.names) > NAMES_SHOWN else [])
    n = len(ev.names)
    what = f"{n} param{'s' if n != 1 else ''} ({', '.join(names)}), {_size_text(ev.nbytes)}, iteration {ev.iteration}"
    phase = {"start": "started", "done": "done"}.get(ev.phase, ev.phase)
    text = f"{ev.op} bucket {ev.bucket} {phase}: {what}"
    if ev.phase == "done" and started is not None:
        text += f", {(ev.time - started) * 1000:.1f} ms after its start"
    return text


class CommLog:
    """nbgrad.distributed's communication events (DDP's bucket allreduces, on the thread that
    runs backward) as lines of the event log of `session`, the call open now (None: dropped)."""

    def __init__(self) -> None:
        self.session: Session | None = None
        self._handle: Any = None
        self._started: dict[tuple[int, int], float] = {}  # (iteration, bucket) -> its start time
        self._rename: tuple[Any, dict[str, str]] = (None, {})  # (session, its suffix_names)

    def start(self) -> None:
        try:  # nbgrad.distributed imports mpi4py only in init_process_group
            from nbgrad.distributed import register_comm_observer
        except ImportError:
            return
        self._handle = register_comm_observer(self._on_event)

    def stop(self) -> None:
        if self._handle is not None:
            self._handle.remove()
            self._handle = None
        self.session = None
        self._rename = (None, {})

    def _on_event(self, ev: Any) -> None:
        key = (ev.iteration, ev.bucket)
        if ev.phase == "start":
            self._started[key] = ev.time
        started = self._started.pop(key, None) if ev.phase == "done" else None
        s = self.session
        if s is not None:
            if self._rename[0] is not s:
                self._rename = (s, suffix_names(s.names.values()))
            s.log(comm_event_text(ev, started, self._rename[1]))


@dataclass
class Pick:
    """Which backward calls to open: every N-th (1, 1+N, ...), within first..last (1-based, inclusive)."""

    every: int = 1
    first: int = 1
    last: int | None = None

    def __call__(self, n: int) -> bool:
        return (n - self.first) % self.every == 0 and n >= self.first and (self.last is None or n <= self.last)


class Debugger:
    """The debugger on the backward calls made while it is started."""

    def __init__(self, label: str, *, pick: Pick | None = None, export_dir: str | None = None,
                 auto: bool = False, keys: list[str] | None = None, driver: Any = None,
                 transcript: str | None = None, names: dict | None = None, title: str | None = None,
                 on_app: Callable[[Any], None] | None = None) -> None:
        self.label = label
        self.title = title
        self.pick = pick or Pick()
        self.export_dir = export_dir
        self.auto = auto
        self.keys = keys
        self.driver = driver
        self.transcript = transcript
        self.names = names or {}  # names known beforehand (demos), merged with the caller's variables
        self.on_app = on_app  # called with each app after it closes (tests look at it)
        self.calls = 0  # backward calls seen
        self.opened: list[int] = []
        self.stopped = False
        self.shared = Shared()
        self.flow = GradientFlow()
        self.tracker = ModuleTracker(on_output=self.flow.on_module_output)
        self.flow.tracker = self.tracker
        self._handle: Any = None
        self._keep: Any = None
        self.comm = CommLog()  # communication events go to the open call's log

    def start(self) -> None:
        """Intercept backward calls; record module calls; and, until stop(), the graph's nodes
        keep their inputs (autograd.graph.keep_inputs), so that g can check a node."""
        from nbgrad.autograd.graph import keep_inputs, register_backward_interceptor

        self.tracker.start()
        self._keep = keep_inputs()
        self._keep.__enter__()
        self._handle = register_backward_interceptor(self._intercept)
        self.comm.start()

    def stop(self) -> None:
        """Remove every hook: what runs after this runs as if the debugger had never been there."""
        self.stopped = True
        if self._handle is not None:
            self._handle.remove()
            self._handle = None
        self.comm.stop()
        self.tracker.stop()
        self.flow.stop()
        if self._keep is not None:
            self._keep.__exit__(None, None, None)
            self._keep = None

    def _intercept(self, call: Any) -> None:
        self.calls += 1
        n = self.calls
        names = {**names_from_frame(user_frame()), **self.names}
        self.flow.watch({k: v for k, v in names.items() if getattr(v, "is_leaf", False)})
        self.flow.begin_call(n)
        if not self.pick(n) or call.inputs is not None:
            return  # not taken: nbgrad runs it as usual
        self.opened.append(n)
        session = make_session(call, names, info=CallInfo(self.label, n, self.title), shared=self.shared,
                               module_calls=self.tracker.calls)
        self.comm.session = session
        try:
            if self.export_dir is not None:
                from .model import export

                session.finish()
                export.write_all(session, self.export_dir, flow=self.flow)
            else:
                self._open(session)
        finally:
            self.comm.session = None
        self._note(session)
        if session.error is not None:
            raise session.error

    def _open(self, session: Session) -> None:
        from .app import DebuggerApp

        app = DebuggerApp(session, flow=self.flow, auto_continue=self.auto, driver_class=self.driver)
        stdout, stderr = sys.stdout, sys.stderr
        try:
            if self.keys is not None:
                app.run(headless=True, auto_pilot=_press(self.keys))
            else:
                app.run(headless=self.auto)
        finally:
            session.finish()  # what the debugger did not run, runs now: .grad ends as backward() leaves it
        for text, err in app.printed:  # what the user's hooks printed while the app drew
            (stderr if err else stdout).write(text)
        if self.on_app is not None:
            self.on_app(app)
        if app.stop_requested:
            self.stop()

    def _note(self, session: Session) -> None:
        if self.transcript:
            with open(self.transcript, "a") as f:
                f.write(f"backward #{session.call.number}: {session.state}; {session.status_line()}\n")


def _press(keys: list[str]) -> Callable[[Any], Any]:
    async def pilot(p: Any) -> None:
        for k in keys:
            if p.app.return_code is not None:  # a key quit the app
                return
            await p.press(k)
            await p.pause()
        p.app.exit()

    return pilot

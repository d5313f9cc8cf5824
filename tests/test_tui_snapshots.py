"""nbgrad-tui's screens as SVG snapshots at 200x50 and 80x24 (pytest-textual-snapshot).

Regenerate one on purpose with `pytest tests/test_tui_snapshots.py --snapshot-update -k NAME`,
and look at it. The README's screenshots are copies of these."""

from __future__ import annotations

import os
import re

import numpy as np
import pytest

pytest.importorskip("textual")

import nbgrad as ng  # noqa: E402
from nbgrad.autograd.graph import BackwardCall  # noqa: E402
from nbgrad_tui import demos  # noqa: E402
from nbgrad_tui.app import DebuggerApp  # noqa: E402
from nbgrad_tui.model.session import CallInfo, Shared  # noqa: E402
from nbgrad_tui.runner import make_session  # noqa: E402
from textual.widgets import DataTable  # noqa: E402

WIDE, NARROW = (200, 50), (80, 24)


@pytest.fixture(autouse=True)
def in_demos_dir(monkeypatch):
    """Source paths on screen are relative to the working directory: the same everywhere."""
    monkeypatch.chdir(os.path.dirname(demos.__file__))


def _app(name, title=None, shared=None, number=1, **kw):
    root, grad, names = demos.build(name)
    kind = "tensor" if hasattr(root, "grad_fn") else "scalar"
    s = make_session(BackwardCall(kind, [root], [grad], True), names, shared=shared,
                     info=CallInfo(title=title or f"demo {name}", number=number))
    return DebuggerApp(s, **kw)


def _select(node_name, leaf=None):
    async def run_before(pilot):
        s = pilot.app.session
        node = next(n for n in s.nodes if n.name == node_name and (leaf is None or s.leaf_name(n.variable) == leaf))
        pilot.app.select(node)
        await pilot.pause()
    return run_before


async def _settle(pilot, rounds=100):
    """Pause until no DataTable has sizing left to do and two screenshots in a row agree: a
    DataTable sizes its columns on its own idle message, which a loaded machine can deliver
    after the one pause pytest-textual-snapshot makes."""
    last = None
    for _ in range(rounds):
        await pilot.pause(0.01)
        if any(t._require_update_dimensions for t in pilot.app.screen.query(DataTable)):
            continue
        shot = re.sub(r"terminal-\d+", "", pilot.app.export_screenshot())
        if shot == last:
            return
        last = shot


def _then(*steps):
    """Keys (strings) and coroutines (pilot -> None) in order, then wait for the screen to settle."""
    async def run_before(pilot):
        for st in steps:
            if isinstance(st, str):
                await pilot.press(st)
            else:
                await st(pilot)
        await _settle(pilot)
    return run_before


def test_seed_first_screen(snap_compare):
    assert snap_compare(_app("seed"), run_before=_then(), terminal_size=WIDE)


def test_seed_three_steps_80x24(snap_compare):
    assert snap_compare(_app("seed"), run_before=_then("n", "n", "n"), terminal_size=NARROW)


def test_mlp_grouped_by_module(snap_compare):
    assert snap_compare(_app("mlp"), run_before=_then("c"), terminal_size=WIDE)


def test_mlp_chain_flat_80x24(snap_compare):
    assert snap_compare(_app("mlp"), run_before=_then("f", "n", "n"), terminal_size=NARROW)


def test_nan_stops_at_the_first_anomaly(snap_compare):
    assert snap_compare(_app("nan"), run_before=_then("c"), terminal_size=WIDE)


def test_neuron_scalar_graph_80x24(snap_compare):
    assert snap_compare(_app("neuron"), run_before=_then("n", "n", "n", "n", "n", "n", "n"), terminal_size=NARROW)


def _open_weight_grad(pilot):
    async def go():
        await pilot.press("c")
        await _select("AccumulateGrad", "model.0.weight")(pilot)
        pilot.app.debug_screen.inspector.focus()
        await pilot.press("home", "enter")
    return go()


def test_tensor_view_numbers(snap_compare):
    assert snap_compare(_app("mlp"), run_before=_then(_open_weight_grad), terminal_size=WIDE)


def test_tensor_view_heatmap_80x24(snap_compare):
    assert snap_compare(_app("mlp"), run_before=_then(_open_weight_grad, "m"), terminal_size=NARROW)


def test_help_80x24(snap_compare):
    assert snap_compare(_app("seed"), run_before=_then("question_mark"), terminal_size=NARROW)


def test_zoomed_inspector_80x24(snap_compare):
    assert snap_compare(_app("mlp"), run_before=_then("n", "n", "n", "tab", "z"), terminal_size=NARROW)


def test_vjp_second_call_accumulates(snap_compare):
    """The vjp demo's second backward call, without zeroing: .grad before is the first call's."""
    shared = Shared()
    root, grad, names = demos.build("vjp")
    first = make_session(BackwardCall("tensor", [root], [grad], True), names, shared=shared)
    first.run()
    second = make_session(BackwardCall("tensor", [root], [grad], True), names, shared=shared,
                          info=CallInfo(title="demo vjp", number=2))
    app = DebuggerApp(second)
    assert snap_compare(app, run_before=_then("c"), terminal_size=WIDE)


def _flow_app():
    """The fourth backward call of a training loop, with the gradient flow of all four."""
    from nbgrad_tui.model.flow import GradientFlow
    from nbgrad_tui.model.groups import ModuleTracker

    flow = GradientFlow()
    tracker = ModuleTracker(on_output=flow.on_module_output)
    flow.tracker = tracker
    tracker.start()
    ng.manual_seed(0)
    model = ng.nn.Sequential(ng.nn.Linear(4, 16), ng.nn.ReLU(), ng.nn.Linear(16, 16), ng.nn.ReLU(),
                             ng.nn.Linear(16, 3))
    with ng.no_grad():
        model[2].bias.fill_(-0.6)  # about half of the second ReLU's units are dead
    opt = ng.optim.SGD(model.parameters(), lr=0.5)
    x, y = ng.randn(32, 4), ng.tensor(np.arange(32) % 3)
    names = {f"model.{k}": p for k, p in model.named_parameters()}
    try:
        for n in range(1, 5):
            opt.zero_grad()
            loss = ng.nn.CrossEntropyLoss()(model(x), y)
            flow.watch(names)
            flow.begin_call(n)
            if n < 4:
                loss.backward()
                opt.step()
    finally:
        tracker.stop()
    s = make_session(BackwardCall("tensor", [loss], [None], True), {**names, "loss": loss},
                     module_calls=tracker.calls, info=CallInfo(script="train.py", number=4))
    return DebuggerApp(s, flow=flow)


def test_gradient_flow_across_calls(snap_compare):
    assert snap_compare(_flow_app(), run_before=_then("c"), terminal_size=WIDE)


def test_step_back_undoes_the_last_step(snap_compare):
    """Four steps, then p: b's accumulation is undone and its AccumulateGrad is next again."""
    assert snap_compare(_app("seed"), run_before=_then("n", "n", "n", "n", "p", "p"), terminal_size=WIDE)


def test_check_node_fails_on_a_wrong_custom_backward(snap_compare):
    assert snap_compare(_app("custom"), run_before=_then(_select("CubeBackward"), "g"), terminal_size=WIDE)


def test_double_backward_groups_the_first_backward(snap_compare):
    """The backward of d(x^3)/dx: the nodes grad(create_graph=True) recorded, under their producer."""
    assert snap_compare(_app("double"), run_before=_then("n", "n", "n"), terminal_size=WIDE)


DOCS = {  # the README's screenshots: copies of these snapshots
    "tui-stepping": "test_seed_first_screen", "tui-modules": "test_mlp_grouped_by_module",
    "tui-anomaly": "test_nan_stops_at_the_first_anomaly", "tui-tensor-view": "test_tensor_view_numbers",
    "tui-heatmap-80x24": "test_tensor_view_heatmap_80x24", "tui-accumulation": "test_vjp_second_call_accumulates",
    "tui-gradient-flow": "test_gradient_flow_across_calls", "tui-scalar-80x24": "test_neuron_scalar_graph_80x24",
    "tui-chain-flat-80x24": "test_mlp_chain_flat_80x24", "tui-help-80x24": "test_help_80x24",
    "tui-zoom-80x24": "test_zoomed_inspector_80x24", "tui-step-back": "test_step_back_undoes_the_last_step",
    "tui-check-node": "test_check_node_fails_on_a_wrong_custom_backward",
    "tui-double-backward": "test_double_backward_groups_the_first_backward",
}


def test_readme_screenshots_are_the_snapshots():
    here = os.path.dirname(os.path.abspath(__file__))
    for doc, snap in DOCS.items():
        with open(os.path.join(here, "..", "docs", doc + ".svg")) as a, \
                open(os.path.join(here, "__snapshots__", "test_tui_snapshots", snap + ".svg")) as b:
            assert a.read() == b.read(), f"docs/{doc}.svg: copy tests/__snapshots__/test_tui_snapshots/{snap}.svg"

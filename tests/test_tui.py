"""nbgrad-tui: every key and panel driven with Textual's Pilot, checked against plain backward().

Subprocess tests of the command line are in test_tui_cli.py, screen snapshots in
test_tui_snapshots.py."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import xml.etree.ElementTree as ET

import numpy as np
import pytest

pytest.importorskip("textual")

import nbgrad as ng  # noqa: E402
from nbgrad.autograd.graph import BackwardCall  # noqa: E402
from nbgrad_tui import demos  # noqa: E402
from nbgrad_tui.app import DebuggerApp  # noqa: E402
from nbgrad_tui.model.session import Shared  # noqa: E402
from nbgrad_tui.runner import make_session  # noqa: E402
from nbgrad_tui.screens import DebugScreen  # noqa: E402
from nbgrad_tui.widgets.tensor_view import TensorGrid, TensorScreen  # noqa: E402

WIDE, NARROW = (200, 50), (80, 24)
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:  # benches/ is a package at the repository root
    sys.path.insert(0, ROOT)


def _session(root, grad=None, names=None, retain_graph=True, shared=None):
    kind = "tensor" if hasattr(root, "grad_fn") else "scalar"
    return make_session(BackwardCall(kind, [root], [grad], retain_graph), names or {}, shared=shared)


def _app(name, **kw):
    root, grad, names = demos.build(name)
    return DebuggerApp(_session(root, grad, names, **kw)), names


def _drive(app, script, size=WIDE):
    async def go():
        async with app.run_test(size=size) as pilot:
            await pilot.pause()
            await script(app, app.debug_screen, pilot)

    asyncio.run(go())
    return app


def _reference(name):
    """The node names in the order an undisturbed pass runs them, and plain backward()'s grads."""
    root, grad, names = demos.build(name)
    order = [s.node.name for s in ng.autograd.backward_pass(root, grad, True)]
    root, grad, names = demos.build(name)
    root.backward(grad)
    return order, {k: v.grad.numpy().copy() for k, v in names.items()}


def _node(s, name, leaf=None):
    return next(n for n in s.nodes if n.name == name and (leaf is None or s.leaf_name(n.variable) == leaf))


# --- stepping --------------------------------------------------------------------------------

def test_n_and_space_step_like_backward():
    order, grads = _reference("seed")
    app, names = _app("seed")

    async def script(app, scr, pilot):
        s = app.session
        await pilot.press("n", "space")
        assert len(s.order) == 2 and scr.graph.selected_node() is s.order[-1]
        for _ in range(s.total + 2):
            await pilot.press("n")
        assert s.state == "finished" and "finished: nothing left to run" in s.events[-1]

    _drive(app, script)
    s = app.session
    assert [n.name for n in s.order] == order
    assert [s.rank[id(n)] for n in s.order] == list(range(1, s.total + 1))  # numbers are the run order
    for k, t in names.items():
        np.testing.assert_allclose(t.grad.numpy(), grads[k], rtol=1e-6)


@pytest.mark.parametrize("name", ["seed", "mlp", "nan", "vjp", "neuron"])
def test_node_numbers_follow_the_engine_order(name):
    root, grad, names = demos.build(name)
    s = _session(root, grad, names)
    s.break_on_anomaly = False
    s.run()
    assert [s.rank[id(n)] for n in s.order] == list(range(1, s.total + 1))


def test_node_numbers_on_a_wide_dag():
    rng = np.random.default_rng(4)
    leaves = [ng.tensor(rng.normal(size=3), requires_grad=True) for _ in range(4)]
    vals = list(leaves)
    for k in range(30):
        a, b = (vals[i] for i in rng.choice(len(vals), 2, replace=False))
        vals.append(a * b if k % 3 else a + b.tanh())
    s = _session(sum(v.sum() for v in vals[-6:]))
    s.run()
    assert [s.rank[id(n)] for n in s.order] == list(range(1, len(s.order) + 1))


def test_continue_runs_to_the_end():
    order, grads = _reference("mlp")
    app, names = _app("mlp")

    async def script(app, scr, pilot):
        await pilot.press("c")

    _drive(app, script)
    assert app.session.state == "finished" and [n.name for n in app.session.order] == order
    for k, t in names.items():
        np.testing.assert_allclose(t.grad.numpy(), grads[k], rtol=1e-5, atol=1e-7)


def test_breakpoint_stops_before_its_node_and_holds_in_the_next_call():
    shared = Shared()
    app, _ = _app("seed", shared=shared)

    async def script(app, scr, pilot):
        s = app.session
        target = _node(s, "MmBackward0")
        scr.graph.select(target)
        await pilot.press("b")
        assert s.has_breakpoint(target) and "● " in scr.graph.label_of(scr.graph.tree_nodes[id(target)][0]).plain
        await pilot.press("c")
        assert s.state == "breakpoint" and s.next_node() is target and id(target) not in s.steps
        assert scr.graph.selected_node() is target
        await pilot.press("c")
        assert s.state == "finished"

    _drive(app, script)
    assert any("breakpoint: stopped before" in e and "MmBackward0" in e for e in app.session.events)
    # a new graph built by the same lines: the breakpoint (op and source line) is still set
    root, grad, names = demos.build("seed")
    s2 = _session(root, grad, names, shared=shared)
    assert s2.run().state == "breakpoint" and s2.next_node().name == "MmBackward0"


def test_t_runs_to_the_selected_node():
    app, _ = _app("seed")

    async def script(app, scr, pilot):
        s = app.session
        target = _node(s, "AccumulateGrad", "w")
        scr.graph.select(target)
        await pilot.press("t")
        assert s.next_node() is target and id(target) not in s.steps and s.state == "paused"
        await pilot.press("n", "t")
        assert "already ran" in s.events[-1]

    _drive(app, script)


def test_w_watch_stops_when_the_leaf_grad_changes():
    app, names = _app("seed")

    async def script(app, scr, pilot):
        s = app.session
        scr.graph.select(_node(s, "MmBackward0"))
        await pilot.press("w")
        assert not s.shared.watches and "select a leaf" in s.events[-1]
        scr.graph.select(_node(s, "AccumulateGrad", "b"))
        await pilot.press("w")
        assert s.shared.watches == {id(names["b"])}
        await pilot.press("c")
        assert s.state == "watch" and s.last_step.node is _node(s, "AccumulateGrad", "b")
        await pilot.press("c")
        assert s.state == "finished"

    _drive(app, script)
    assert any(e.startswith("watch: b.grad changed") for e in app.session.events)


def test_anomaly_stops_once_then_continue_runs_on_and_the_status_says_so():
    app, _ = _app("nan")

    async def script(app, scr, pilot):
        s = app.session
        await pilot.press("c")
        assert s.state == "anomaly" and len(s.anomalies) == 1 and not s.finished
        assert "stopped on the first nan/inf" in s.status_line()
        await pilot.press("c")  # runs on through the other nan gradients
        assert s.state == "finished" and len(s.anomalies) == 5
        line = s.status_line()
        assert "finished" in line and "5 node(s) with nan/inf gradients" in line and "stopped on" not in line

    _drive(app, script)


def test_a_turns_break_on_anomaly_off():
    app, _ = _app("nan")

    async def script(app, scr, pilot):
        await pilot.press("a", "c")
        assert app.session.state == "finished" and "break on nan: off" in app.session.status_line()

    _drive(app, script)


def test_o_goes_to_where_the_nan_was_born():
    app, _ = _app("nan")

    async def script(app, scr, pilot):
        s = app.session
        assert s.origin.name == "LogBackward0" and s.origin_certain
        assert "NaN born here" in scr.graph.label_of(scr.graph.tree_nodes[id(s.origin)][0]).plain
        await pilot.press("o")
        assert scr.graph.selected_node() is s.origin and "nan/inf first appears" in scr.inspector.text()

    _drive(app, script)
    app, _ = _app("seed")

    async def none(app, scr, pilot):
        await pilot.press("o")
        assert "no nan/inf" in app.session.events[-1]

    _drive(app, none)


def test_origin_uncertain_when_an_input_is_unknown():
    a = ng.tensor([2.0, -1.0], requires_grad=True)
    h = ng.log(a)  # nobody saves h (Add saves nothing)
    s = _session((h + 1.0).sum(), names={"a": a})
    assert s.origin is not None and not s.origin_certain


def test_scalar_origin():
    from nbgrad.scalar import Value

    a = Value(1e308)
    h = a * 10.0  # inf is born here
    s = _session(h * 0.5 + a, names={"a": a})
    assert s.origin is not None and s.origin.index == s.bp.node_of(h).index
    assert s.run().state == "anomaly"


def test_r_restart_restores_grads_and_runs_again():
    app, names = _app("vjp")  # out = (inp + 1) ** 2 with a gradient of ones: inp.grad = 2 (inp + 1)

    async def script(app, scr, pilot):
        s = app.session
        await pilot.press("c", "r")
        assert not s.steps and names["inp"].grad is None and s.passes == 2
        await pilot.press("c")
        assert s.state == "finished"
        h = s.shared.history[id(names["inp"])]
        assert h[0] == 0.0 and h[1] == h[3] > 0 and h[2] == 0.0  # before, run 1, restored, run 2

    _drive(app, script)
    np.testing.assert_allclose(names["inp"].grad.numpy(), 2 * (np.eye(5) + 1))


def test_restart_needs_retain_graph():
    app, _ = _app("seed", retain_graph=False)

    async def script(app, scr, pilot):
        await pilot.press("c", "r")
        assert "restart needs retain_graph=True" in app.session.events[-1]
        scr.graph.select(_node(app.session, "MmBackward0"))
        await pilot.pause()
        assert "freed after it ran" in scr.inspector.text()

    _drive(app, script)


def test_q_quits_and_the_rest_runs_like_backward():
    order, grads = _reference("seed")
    app, names = _app("seed")

    async def script(app, scr, pilot):
        await pilot.press("n", "q")

    _drive(app, script)
    app.session.finish()
    assert not app.stop_requested
    for k, t in names.items():
        np.testing.assert_allclose(t.grad.numpy(), grads[k], rtol=1e-6)


@pytest.mark.parametrize("key", ["Q", "ctrl+c", "ctrl+q"])
def test_shift_q_and_ctrl_c_stop_debugging_the_script(key):
    app, _ = _app("seed")

    async def script(app, scr, pilot):
        await pilot.press(key)

    _drive(app, script)
    assert app.stop_requested and app.return_code is not None


def test_help_opens_closes_and_fits_80x24():
    app, _ = _app("seed")

    async def script(app, scr, pilot):
        await pilot.press("question_mark")
        assert type(app.screen).__name__ == "HelpScreen"
        box = app.screen.query_one("VerticalScroll")
        assert box.outer_size.height <= 24 and box.outer_size.width <= 80
        assert box.max_scroll_y == 0  # every line visible
        await pilot.press("escape")
        assert app.screen is scr

    _drive(app, script, NARROW)


def test_every_binding_has_an_id_and_is_in_the_help():
    from nbgrad_tui.app import DebuggerApp as A
    from nbgrad_tui.widgets import events, graph, help, inspector, leaves, panels, tensor_view

    classes = [A, DebugScreen, graph.GraphPanel, inspector.InspectorPanel, leaves.LeavesPanel, events.EventsPanel,
               panels.FlowPanel, tensor_view.TensorScreen, help.HelpScreen]
    for cls in classes:
        for b in cls.BINDINGS:
            assert b.id, (cls, b)
    for b in DebugScreen.BINDINGS + A.BINDINGS:
        key = {"question_mark": "?", "space": "space", "tab": "tab"}.get(b.key, b.key)
        assert key in help.HELP, b


def test_command_palette_selects_a_node_by_name():
    app, _ = _app("seed")

    async def script(app, scr, pilot):
        await pilot.press("ctrl+p")
        await pilot.press(*"Mm")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await pilot.pause()
        assert scr.graph.selected_node().name == "MmBackward0" and not app.session.order

    _drive(app, script)


# --- the graph -------------------------------------------------------------------------------

def _kids(tree, tn):
    return [c.data[1].name if c.data[0] == "node" else c.data[1] for c in tn.children]


def test_graph_nested_children_under_parents_and_f_for_chain_flat():
    app, _ = _app("seed")

    async def script(app, scr, pilot):
        g = scr.graph
        s = app.session
        add = g.tree_nodes[id(_node(s, "AddBackward0"))][0]
        assert _kids(g, add) == ["AccumulateGrad", "MmBackward0"]  # in the order they run
        assert "nested" in g.border_title
        await pilot.press("f")
        add = g.tree_nodes[id(_node(s, "AddBackward0"))][0]
        assert not g.nested and "chain-flat" in g.border_title
        assert "MmBackward0" not in _kids(g, add)
        assert [c.data[1].name for c in g.root.children] == ["BinaryCrossEntropyWithLogitsBackward0", "AddBackward0",
                                                             "MmBackward0"]

    _drive(app, script)


def test_mlp_groups_by_module_call():
    app, _ = _app("mlp")

    async def script(app, scr, pilot):
        s, g = app.session, scr.graph
        assert {"model.0", "model.1", "model.2", "CrossEntropyLoss"} <= {v[0] for v in s.group_of.values()}
        assert s.group_of[id(_node(s, "ReluBackward0"))] == ("model.1", "model.1 (ReLU)")
        for n in s.nodes:
            if n.name == "AccumulateGrad":
                assert s.group_of[id(n)][0] == s.leaf_name(n.variable).rsplit(".", 1)[0]
        await pilot.press("f")
        tops = [c.data[1] for c in g.root.children if c.data[0] == "group"]
        assert tops == ["CrossEntropyLoss", "model.2", "model.1", "model.0"]
        assert sum(len(m) for _, _, m in g.groups.values()) == s.total
        grp = next(c for c in g.root.children if c.data[1] == "model.2")
        g.move_cursor(grp)
        await pilot.press("enter")  # collapses the group
        assert grp.is_collapsed
        g.select(_node(s, "AccumulateGrad", "model.2.weight"))  # selecting inside expands it
        assert grp.is_expanded
        await pilot.press("c")
        assert "3/3 done" in g.label_of(grp).plain

    _drive(app, script)


def test_module_tracking_uses_module_hooks_not_a_profiler():
    from nbgrad.nn import module as mm
    from nbgrad_tui.model.groups import track_modules

    with track_modules():
        assert sys.getprofile() is None and mm._global_forward_pre_hooks and mm._global_forward_hooks
    assert not mm._global_forward_pre_hooks and not mm._global_hooked


def test_groups_without_tracking_use_parameter_names():
    from nbgrad_tui.model import groups

    lin = ng.nn.Linear(3, 2)
    bp = ng.autograd.backward_pass(lin(ng.randn(4, 3)).sum(), None, True)
    got = groups.assign(bp.nodes, {id(p): f"lin.{k}" for k, p in lin.named_parameters()}, calls=[])
    by_name = {}
    for n in bp.nodes:
        by_name.setdefault(n.name, set()).add(got.get(id(n), ("-",))[0])
    assert by_name["AccumulateGrad"] == {"lin"} and by_name["SumBackward0"] == {"-"}


def test_diamond_shows_a_shared_node_once_then_as_a_reference():
    a = ng.tensor([1.0, 2.0], requires_grad=True)
    b, c = a * 2.0, a * 3.0
    app = DebuggerApp(_session((b * c).sum(), names={"a": a}))

    async def script(app, scr, pilot):
        acc = _node(app.session, "AccumulateGrad")
        assert [tn.data[2] for tn in scr.graph.tree_nodes[id(acc)]] == [False, True]
        await pilot.press("c")

    _drive(app, script)
    assert a.grad.numpy().tolist() == [12.0, 24.0]


def test_repeated_blocks_fold_and_a_long_chain_stays_shallow():
    from benches.bench_tui import chain_graph
    from nbgrad_tui.model import layout

    root, names = chain_graph(401)
    app = DebuggerApp(_session(root, names=names))

    async def script(app, scr, pilot):
        g = scr.graph
        folds = [tn for tn, _, _ in g.groups.values() if tn.data[1].startswith("×")]
        assert len(folds) == 1
        _, title, members = g.groups[id(folds[0])]
        assert title.endswith("× [AddBackward0 → MulBackward0]") and len(members) >= 390
        await pilot.press("n", "n", "n")
        assert f"2/{len(members)} done" in g.label_of(folds[0]).plain
        depth = {}
        layout.walk(layout.build(app.session.nodes, app.session.rank, {}, nested=True),
                    lambda it, d: depth.setdefault("max", max(depth.get("max", 0), d)))
        assert depth["max"] < 10

    _drive(app, script)


def test_a_deep_unrepeated_chain_nests_to_a_limit_then_goes_on_flat():
    from nbgrad_tui.model import layout

    x = ng.tensor([0.5], requires_grad=True)
    y = x
    ops = [ng.sin, ng.tanh, ng.exp, ng.cos, ng.sigmoid]
    for k in range(120):  # no period of 8 or less repeats 3 times
        y = ops[(k * k) % 5](y) if k % 7 else y * 1.01
    s = _session(y.sum())
    items = layout.build(s.nodes, s.rank, {}, nested=True)
    seen, deepest = [], [0]

    def visit(it, d):
        if it.node is not None:
            seen.append(it.node)
        deepest[0] = max(deepest[0], d)

    layout.walk(items, visit)
    assert len(seen) == s.total and layout.MAX_NEST <= deepest[0] <= layout.MAX_NEST + 2


def test_labels_abbreviate_names_from_the_left_at_80x24():
    app, _ = _app("mlp")

    async def script(app, scr, pilot):
        g, s = scr.graph, app.session
        tn = g.tree_nodes[id(_node(s, "AccumulateGrad", "model.0.weight"))][0]
        label = g.label_of(tn, g._width_for(tn)).plain
        assert label.startswith("#") and "…" in label and ("weight" in label or "eight" in label)
        assert len(label) <= g._width_for(tn)
        full = g.label_of(tn).plain
        assert "AccumulateGrad(model.0.weight)" in full

    _drive(app, script, NARROW)


def test_footer_keeps_quit_help_step_back_and_continue_first_at_80x24():
    from textual.widgets._footer import FooterKey

    app, _ = _app("seed")

    async def script(app, scr, pilot):
        keys = [k for k in app.screen.query(FooterKey) if "-command-palette" not in k.classes]
        assert [k.action.rpartition(".")[2] for k in keys[:5]] == ["quit_call", "help", "step", "step_back",
                                                                    "continue"]
        assert all(k.region.right <= 80 for k in keys[:5])

    _drive(app, script, NARROW)


# --- panes: focus, scroll, zoom --------------------------------------------------------------

def test_tab_moves_between_panes_and_z_zooms_one():
    app, _ = _app("mlp")

    async def script(app, scr, pilot):
        assert app.focused is scr.graph
        await pilot.press("tab")
        assert app.focused is scr.inspector
        await pilot.press("z")
        assert scr.maximized is scr.inspector and scr.graph.region.width == 0
        await pilot.press("z")
        assert scr.maximized is None

    _drive(app, script, NARROW)


def test_panes_scroll_with_keys_and_the_mouse():
    app, _ = _app("mlp")

    async def script(app, scr, pilot):
        events = scr.query_one("EventsPanel")
        for _ in range(9):
            await pilot.press("n")
        events.focus()
        await pilot.press("home")
        assert events.scroll_y == 0
        await pilot.press("pagedown")
        assert events.scroll_y > 0
        scr.graph.focus()  # the wheel scrolls the pane under the mouse, focused or not
        from textual.events import MouseScrollUp

        for _ in range(20):
            events.post_message(MouseScrollUp(events, 2, 2, 0, -1, 0, False, False, False))
        await pilot.pause(0.3)
        assert events.scroll_y == 0

    _drive(app, script, NARROW)


# --- the inspector and the tensor view ---------------------------------------------------------

def _open_first_value(pilot, scr, skip=0):
    """Focus the inspector, move to its (skip+1)-th value and press enter."""
    async def go():
        scr.inspector.focus()
        await pilot.press("home")
        for _ in range(skip):
            await pilot.press("down")
        await pilot.press("enter")
        await pilot.pause()
    return go()


def test_inspector_lists_formula_gradients_and_saved_values_with_numbers():
    app, _ = _app("seed")

    async def script(app, scr, pilot):
        await pilot.press("n")
        text = scr.inspector.text()
        assert "formula:" in text and "grad in [0]" in text and "grad out[0]" in text and "saved" in text
        assert "nan=0" in text and "std=" in text

    _drive(app, script)


async def _after_continue_select(pilot, scr, s, leaf):
    await pilot.press("c")
    node = _node(s, "AccumulateGrad", leaf)
    scr.graph.select(node)
    await pilot.pause()
    return node


def test_a_16_value_bias_reads_in_real_digits_at_200_columns():
    import re

    from nbgrad_tui.render import entry_renderable

    ng.manual_seed(0)
    model = ng.nn.Sequential(ng.nn.Linear(4, 16), ng.nn.ReLU(), ng.nn.Linear(16, 2))
    loss = model(ng.randn(5, 4)).pow(2).sum()
    app = DebuggerApp(_session(loss, names={f"model.{k}": p for k, p in model.named_parameters()}))

    async def script(app, scr, pilot):
        s = app.session
        node = await _after_continue_select(pilot, scr, s, "model.0.bias")
        entry = next(e for e in s.inspect(node) if e.ref is not None)
        text = entry_renderable(entry, scr.inspector.scrollable_content_region.width).plain
        numbers = re.findall(r"-?\d+\.\d{4}", "\n".join(text.splitlines()[1:]))  # the preview lines
        assert len(numbers) == 16 and "…" not in text  # every value, with its digits
        np.testing.assert_allclose([float(x) for x in numbers], model[0].bias.grad.numpy(), atol=6e-5)

    _drive(app, script)


def test_enter_opens_a_value_in_the_tensor_view_with_honest_labels():
    app, _ = _app("mlp")

    async def script(app, scr, pilot):
        s = app.session
        node = await _after_continue_select(pilot, scr, s, "model.0.weight")
        await _open_first_value(pilot, scr)
        assert isinstance(app.screen, TensorScreen)
        ts = app.screen
        grid = ts.query_one(TensorGrid)
        np.testing.assert_array_equal(grid.array, s.steps[id(node)].grads_in[0])
        assert grid.array.shape == (8, 4) and grid.virtual_size.height == 9  # a header row and 8 rows
        title = ts.title_text()
        assert "numbers" in title and "sampled" not in title and "highlighted" not in title
        await pilot.press("m")
        assert grid.heatmap and "heatmap" in ts.title_text()
        await pilot.press("escape")
        assert app.screen is scr

    _drive(app, script)


def test_accumulation_view_before_after_delta_and_changed_cells():
    app, names = _app("vjp")

    async def script(app, scr, pilot):
        await pilot.press("c", "r", "c")  # .grad restored to None: the second run's accumulation is "new"
        leaves = scr.query_one("LeavesPanel")
        leaves.focus()
        await pilot.press("enter")
        ts = app.screen
        assert isinstance(ts, TensorScreen) and ts.view == "after"
        assert "all 25 values new" in ts.title_text()
        await pilot.press("v")
        assert ts.view == "before" and "None" in ts.title_text()
        await pilot.press("v")
        assert ts.view == "delta"
        np.testing.assert_allclose(ts.query_one(TensorGrid).array, names["inp"].grad.numpy())

    _drive(app, script)


def test_changed_cells_counted_and_highlighted_only_when_some_changed():
    w = ng.tensor(np.zeros((2, 3)), requires_grad=True)
    w.grad = ng.tensor(np.ones((2, 3)))
    mask = ng.tensor(np.array([[1.0, 0, 0], [0, 0, 2.0]]))
    s = _session((w * mask).sum(), names={"w": w})
    s.run()
    ref = s.leaf_ref(w)
    assert ref.changed.tolist() == [[True, False, False], [False, False, True]]
    app = DebuggerApp(s)

    async def script(app, scr, pilot):
        app.push_screen(TensorScreen(ref))
        await pilot.pause()
        assert "2 of 6 values changed (highlighted)" in app.screen.title_text()

    _drive(app, script)
    s2 = _session((w * 0.0).sum(), names={"w": w})
    s2.run()
    app2 = DebuggerApp(s2)

    async def none_changed(app, scr, pilot):
        app.push_screen(TensorScreen(s2.leaf_ref(w)))
        await pilot.pause()
        t = app.screen.title_text()
        assert "0 of 6 values changed" in t and "highlighted" not in t

    _drive(app2, none_changed)


def test_tensor_view_slices_a_3d_array_and_draws_only_visible_cells():
    from nbgrad_tui.model.session import TensorRef

    a = (np.arange(2 * 3 * 400 * 300) % 997).astype(np.float64).reshape(2, 3, 400, 300)
    app, _ = _app("seed")

    async def script(app, scr, pilot):
        app.push_screen(TensorScreen(TensorRef("big", {"value": a})))
        await pilot.pause()
        ts, grid = app.screen, app.screen.query_one(TensorGrid)
        assert "slice [0, 0, :, :] (1 of 6)" in ts.title_text()
        await pilot.press("right_square_bracket")
        assert grid.slice_index == 1 and "slice [0, 1, :, :]" in ts.title_text()
        np.testing.assert_array_equal(grid.matrix()[0], a[0, 1])
        await pilot.press("left_square_bracket", "left_square_bracket")
        assert "slice [1, 2, :, :] (6 of 6)" in ts.title_text()
        await pilot.press("end")
        assert grid.scroll_y == grid.max_scroll_y > 0
        last = grid.render_line(grid.scrollable_content_region.height - 1).text.split()
        assert last[0] == "399" and last[1] == f"{int(a[1, 2, 399, 0])}."  # the last row is drawn

    _drive(app, script)


def test_one_d_values_ten_to_a_row():
    from nbgrad_tui.model.session import TensorRef

    app, _ = _app("seed")

    async def script(app, scr, pilot):
        app.push_screen(TensorScreen(TensorRef("v", {"value": np.arange(23.0)})))
        await pilot.pause()
        grid = app.screen.query_one(TensorGrid)
        mat, _, real = grid.matrix()
        assert mat.shape == (3, 10) and real == 23
        assert grid.render_line(3).text.split()[0] == "20"  # row label: the index of its first value
        assert "10 values a row" in app.screen.title_text()

    _drive(app, script)


def test_wide_node_inspector_is_capped():
    w = ng.tensor([1.0, 2.0], requires_grad=True)
    app = DebuggerApp(_session(ng.stack([w * float(i) for i in range(40)]).sum(), names={"w": w}))

    async def script(app, scr, pilot):
        await pilot.press("n", "n")
        assert "... 24 more gradients out" in scr.inspector.text()
        await pilot.press("c")

    _drive(app, script)
    assert w.grad.numpy().tolist() == [780.0, 780.0]


# --- leaves -----------------------------------------------------------------------------------

def test_leaves_panel_history_across_restarts():
    app, names = _app("vjp")

    async def script(app, scr, pilot):
        await pilot.press("c", "r", "c")
        rows = app.session.leaf_rows()
        assert rows[0].name == "inp" and rows[0].history[-4:][0] == 0.0
        assert "▁█▁█" in "".join(str(c) for c in scr.query_one("LeavesPanel").get_row_at(0))

    _drive(app, script)


def test_scalar_leaves_keep_the_sign_and_constants_stay_apart():
    from nbgrad.scalar import Value

    x = Value(2.0)
    y = (x * -3.0 + 1.0) * 0.5  # three constants
    app = DebuggerApp(_session(y, names={"x": x}))

    async def script(app, scr, pilot):
        s = app.session
        await pilot.press("c")
        rows = s.leaf_rows()
        assert [r.name for r in rows] == ["x"] and rows[0].after == "-1.5" and s.grad_heading == "grad"
        assert len(s.constants) == 3
        leaves = scr.query_one("LeavesPanel")
        assert "3 constants hidden (k)" in leaves.border_title
        leaves.focus()
        await pilot.press("k")
        assert leaves.row_count == 3 and "constants" in leaves.border_title

    _drive(app, script)


def test_neuron_steps_write_grads_like_backward_bit_for_bit():
    expected = {"x1": -1.5, "w1": 1.0, "x2": 0.5, "w2": 0.0, "b": 0.5}  # Karpathy's lecture values
    root, grad, names = demos.build("neuron")
    app = DebuggerApp(_session(root, grad, names))

    async def script(app, scr, pilot):
        s = app.session
        assert s.kind == "scalar" and s.total == 10
        for _ in range(s.total):
            before = {k: names[k].grad for k in expected}
            await pilot.press("n")
            changed = {k for k in expected if names[k].grad != before[k]}
            st = s.last_step
            assert changed <= ({s.leaf_name(st.node.variable)} if st.node.name == "AccumulateGrad" else set())

    _drive(app, script)
    ref_root, _, ref = demos.build("neuron")
    ref_root.backward()
    assert {k: names[k].grad for k in expected} == {k: ref[k].grad for k in expected}
    np.testing.assert_allclose([names[k].grad for k in expected], list(expected.values()), atol=1e-12)


# --- export ----------------------------------------------------------------------------------

def test_e_exports_dot_svg_and_the_step_log(tmp_path):
    root, grad, names = demos.build("nan")
    s = _session(root, grad, names)
    app = DebuggerApp(s, export_dir=str(tmp_path))

    async def script(app, scr, pilot):
        await pilot.press("c", "e")
        assert "exported" in s.events[-1]

    _drive(app, script)
    files = sorted(os.listdir(tmp_path))
    assert files == ["backward-1.dot", "backward-1.json", "backward-1.svg"]
    dot = (tmp_path / "backward-1.dot").read_text()
    assert dot.startswith("digraph backward {") and dot.count("->") == sum(
        nx is not None for n in s.nodes for nx, _ in n.next_functions)
    svg = ET.parse(tmp_path / "backward-1.svg").getroot()
    assert svg.tag.endswith("svg") and len([e for e in svg.iter() if e.tag.endswith("rect")]) >= s.total
    log = json.loads((tmp_path / "backward-1.json").read_text())
    assert len(log["nodes"]) == s.total and log["origin"] == s.rank[id(s.origin)]
    assert [st["node"] for st in log["steps"]] == [s.rank[id(n)] for n in s.order]
    assert log["steps"][0]["grads_in"][0]["nan"] == 0 and any(st["grads_out"] and any(
        g and g["nan"] for g in st["grads_out"]) for st in log["steps"])


def test_svg_without_graphviz_is_laid_out_in_rows():
    from nbgrad_tui.model import export

    s = _session(*demos.build("mlp")[:1], names=demos.build("mlp")[2])
    root = ET.fromstring(export.svg(s))
    texts = [e.text for e in root.iter() if e.tag.endswith("text")]
    assert any(t.startswith("#1 ") for t in texts) and len([e for e in root.iter() if e.tag.endswith("line")]) > 0


# --- across backward calls: run, the gradient flow --------------------------------------------

TRAIN = """
import numpy as np
import nbgrad as ng
ng.manual_seed(0)
model = ng.nn.Sequential(ng.nn.Linear(4, 8), ng.nn.ReLU(), ng.nn.Linear(8, 3))
with ng.no_grad():
    model[0].bias.fill_(-100.0)  # every unit of the ReLU is dead
x = ng.randn(16, 4)
y = ng.tensor(np.arange(16) % 3)
opt = ng.optim.SGD(model.parameters(), lr=0.1)
for step in range(CALLS):
    opt.zero_grad()
    ng.nn.CrossEntropyLoss()(model(x), y).backward()
    opt.step()
print("done")
"""


def _run_in_process(tmp_path, source, **kw):
    from nbgrad_tui import cli, runner

    p = tmp_path / "train.py"
    p.write_text(source)
    apps = []
    dbg = runner.Debugger("train.py", on_app=apps.append, **kw)
    rc = cli.run_script(str(p), [], dbg)
    return rc, dbg, apps


def test_run_opens_picked_calls_and_collects_the_gradient_flow(tmp_path, capsys):
    from nbgrad_tui.runner import Pick

    rc, dbg, apps = _run_in_process(tmp_path, TRAIN.replace("CALLS", "5"), auto=True, pick=Pick(every=2))
    assert rc == 0 and capsys.readouterr().out == "done\n"
    assert dbg.calls == 5 and dbg.opened == [1, 3, 5] and [a.session.call.number for a in apps] == [1, 3, 5]
    rows = {r.module: r for r in dbg.flow.rows({})}  # no names given: modules by class and path
    assert set(rows) == {"Sequential.0", "Sequential.1", "Sequential.2"}
    assert len(rows["Sequential.2"].norms) == 5 and all(v is not None and v > 0 for v in rows["Sequential.2"].norms)
    assert rows["Sequential.1"].dead == 1.0  # the ReLU with every unit dead
    assert rows["Sequential.0"].flag == "vanishing" and rows["Sequential.0"].norms[-1] == 0.0


def test_flow_panel_shows_from_the_second_call(tmp_path, monkeypatch):
    from nbgrad_tui import runner

    seen = []

    def look(keys):
        async def pilot(p):
            panel = p.app.debug_screen.query_one("FlowPanel")
            await p.press("c")
            seen.append((p.app.session.call.number, panel.has_class("-shown"), str(panel.border_title)))
            p.app.exit()
        return pilot

    monkeypatch.setattr(runner, "_press", look)
    rc, dbg, apps = _run_in_process(tmp_path, TRAIN.replace("CALLS", "3"), keys=[])
    assert rc == 0 and [(n, on) for n, on, _ in seen] == [(1, False), (2, True), (3, True)]
    assert "backward calls 1..3" in seen[-1][2]


def test_exploding_flag():
    from nbgrad_tui.model.flow import GradientFlow

    f = GradientFlow()
    w = ng.tensor([1e5, 0.0], requires_grad=True)
    f.watch({"w": w})
    f.begin_call(1)
    (w * w).sum().backward()
    (row,) = f.rows({})
    assert row.flag == "exploding" and row.norms[0] == pytest.approx(2e5)
    f.stop()
    f.begin_call(2)
    (w * w).sum().backward()  # unhooked: nothing recorded for call 2
    assert f.rows({})[0].norms == [pytest.approx(2e5), None]


def test_q_stop_removes_every_hook(tmp_path):
    from nbgrad.autograd import graph
    from nbgrad.nn import module as mm

    rc, dbg, apps = _run_in_process(tmp_path, TRAIN.replace("CALLS", "3"), keys=["n", "Q"])
    assert rc == 0 and dbg.opened == [1] and dbg.calls == 1 and apps[0].stop_requested
    assert not graph._INTERCEPTORS and not mm._global_hooked and not dbg.flow._hooked


def test_run_groups_modules_and_keeps_user_sites(tmp_path):
    rc, dbg, apps = _run_in_process(tmp_path, TRAIN.replace("CALLS", "1"), auto=True)
    s = apps[0].session
    assert {g[0] for g in s.group_of.values()} >= {"model.0", "model.1", "model.2"}
    assert {os.path.basename(n.site[0]) for n in s.nodes if n.site} == {"train.py"}
    assert s.call.script == "train.py" and s.call.number == 1


def test_hooks_print_inside_steps_pass_through_once(tmp_path, capfd):
    src = ("import nbgrad as ng\nw = ng.tensor([1.0, 2.0], requires_grad=True)\ny = w * 3.0\n"
           "y.register_hook(lambda g: print('hook', g.numpy().tolist()))\ny.sum().backward()\nprint('after')\n")
    rc, dbg, apps = _run_in_process(tmp_path, src, keys=["c"])
    assert rc == 0 and capfd.readouterr().out == "hook [1.0, 1.0]\nafter\n"


def test_debug_backward_names_leaves_from_the_callers_variables():
    from nbgrad_tui import debug_backward

    ng.manual_seed(0)
    model = ng.nn.Linear(3, 2)
    bias = ng.tensor([0.5, 0.5], requires_grad=True)
    loss = (model(ng.randn(4, 3)) + bias).sum()
    app = debug_backward(loss, auto_continue=True, headless=True)
    s = app.session
    assert {s.leaf_name(t) for t in s.leaves} == {"model.weight", "model.bias", "bias"}
    assert {g[0] for g in s.group_of.values()} == {"model"}
    assert s.node_title(s.nodes[0]).endswith("(loss)")
    assert bias.grad.numpy().tolist() == [4.0, 4.0]


def test_an_error_in_the_pass_is_shown_then_raised():
    from nbgrad_tui import debug_backward

    a = ng.tensor([1.0, 2.0], requires_grad=True)
    b = a * 1.0
    c = (b * b).sum()
    b.add_(1.0)
    with pytest.raises(RuntimeError, match="inplace"):
        debug_backward(c, auto_continue=True, headless=True, names={"a": a})


def test_bench_tui_runs_small():
    from benches import bench_tui

    for scalar in (False, True):
        r = asyncio.run(bench_tui.measure(300, 2, scalar=scalar))
        assert r["nodes"] >= 299 and r["open_s"] > 0 and r["step_cpu_ms"] > 0
        assert r["back_ms"] > 0 and r["check_ms"] > 0


def test_debugger_steps_a_cuda_graph():
    """A CUDA graph (the simulator in CI): summaries copy values to the host, grads stay on the device."""
    if not ng.cuda.is_available():
        pytest.skip("no CUDA device or simulator")
    ng.manual_seed(0)
    x = ng.ones(5, device="cuda")
    w = ng.randn(5, 3, device="cuda", requires_grad=True)
    b = ng.randn(3, device="cuda", requires_grad=True)
    loss = ng.nn.functional.binary_cross_entropy_with_logits(x @ w + b, ng.zeros(3, device="cuda"))
    ref = [t.detach().cpu() for t in (w, b)]
    wr, br = (t.clone().requires_grad_() for t in ref)
    ng.nn.functional.binary_cross_entropy_with_logits(ng.ones(5) @ wr + br, ng.zeros(3)).backward()
    app = DebuggerApp(_session(loss, names={"w": w, "b": b}))

    async def script(app, scr, pilot):
        await pilot.press("n", "n")
        assert "nan=0" in scr.inspector.text()
        await pilot.press("c")

    _drive(app, script)
    assert app.session.state == "finished" and w.grad.is_cuda
    np.testing.assert_allclose(w.grad.cpu().numpy(), wr.grad.numpy(), rtol=1e-5)
    np.testing.assert_allclose(b.grad.cpu().numpy(), br.grad.numpy(), rtol=1e-5)


# --- step back (p) ---------------------------------------------------------------------------

def _grads(names):
    out = {}
    for k, v in names.items():
        g = v.grad
        out[k] = None if g is None else (g.numpy().copy() if hasattr(g, "numpy") else g)
    return out


def _same_grads(a, b):
    assert a.keys() == b.keys()
    for k in a:
        assert (a[k] is None) == (b[k] is None), k
        if a[k] is not None:
            np.testing.assert_array_equal(a[k], b[k], err_msg=k)


@pytest.mark.parametrize("name", ["seed", "neuron"])
def test_p_steps_back_and_the_node_replays(name):
    app, names = _app(name)
    seen = {}

    async def script(app, scr, pilot):
        from textual.widgets._footer import FooterKey

        s = app.session
        keys = {k.key: k.description for k in app.screen.query(FooterKey)}
        assert keys.get("p") == "Back"
        await pilot.press("n", "n")
        seen["after2"] = (_grads(names), [n for n in s.order], scr.inspector.text())
        await pilot.press("n")
        third = s.order[-1]
        seen["after3"] = _grads(names)
        await pilot.press("p")
        g2, order2, _ = seen["after2"]
        _same_grads(_grads(names), g2)
        assert s.order == order2 and id(third) not in s.steps and s.next_node() is third
        assert scr.graph.selected_node() is third and "[ready]" in scr.inspector.text().splitlines()[0]
        assert s.events[-1].startswith(f"step back: undid step 3: {s.node_title(third)}")
        await pilot.press("n")  # the same node runs again, with the same result
        assert s.order[-1] is third
        _same_grads(_grads(names), seen["after3"])
        for _ in range(len(s.order)):
            await pilot.press("p")
        assert not s.order and s.events[-1].startswith("step back: undid step 1")
        await pilot.press("p")  # nothing left to undo: a bell and a line, no change
        assert s.events[-1] == "step back: nothing has run yet"
        await pilot.press("c")

    _drive(app, script)
    order, grads = _reference(name) if name != "neuron" else (None, None)
    if grads is not None:
        for k, t in names.items():
            np.testing.assert_allclose(t.grad.numpy(), grads[k], rtol=1e-6)


def test_p_restores_the_leaves_panel_and_history():
    app, names = _app("seed")

    async def script(app, scr, pilot):
        s = app.session
        b = names["b"]
        while not any(a.tensor is b for a in (s.last_step.accumulations if s.last_step else ())):
            await pilot.press("n")
        hist = list(s.shared.history[id(b)])
        row = next(r for r in s.leaf_rows() if r.name == "b")
        assert row.after != "-" and row.just_changed
        await pilot.press("p")
        row = next(r for r in s.leaf_rows() if r.name == "b")
        assert b.grad is None and row.before == "-" and not row.just_changed
        assert s.shared.history[id(b)] == hist[:-1]
        assert "b.grad back to None (no gradient yet)" in s.events[-1]

    _drive(app, script)


# --- check node (g) and custom Functions -----------------------------------------------------

def test_g_checks_the_selected_node_and_a_wrong_custom_backward_fails():
    app, names = _app("custom")

    async def script(app, scr, pilot):
        s = app.session
        cube = _node(s, "CubeBackward")
        app.select(cube)
        await pilot.pause()
        await pilot.press("g")
        text = scr.inspector.text()
        assert "check (g): FAIL: largest error 2.56" in text and "input 0: max abs error 2.56" in text
        assert s.events[-1].startswith("check #5 CubeBackward (y): FAIL")
        mul = _node(s, "MulBackward0")
        app.select(mul)
        await pilot.pause()
        await pilot.press("g")
        assert "check (g): PASS" in scr.inspector.text() and "PASS" in s.events[-1]
        app.select(_node(s, "AccumulateGrad", "x"))
        await pilot.pause()
        await pilot.press("g")
        assert "cannot check: an AccumulateGrad adds into .grad" in s.events[-1]
        await pilot.press("c")

    _drive(app, script)
    assert app.session.state == "finished"


def test_custom_function_node_shows_its_source_and_saved_tensors():
    root, grad, names = demos.build("custom")
    s = _session(root, grad, names)
    text = "\n".join(e.text for e in s.inspect(_node(s, "CubeBackward")))
    src = "demos.py"
    lines = open(demos.__file__).read().splitlines()
    fwd = next(i for i, t in enumerate(lines, 1) if "def forward(ctx, x)" in t)
    bwd = next(i for i, t in enumerate(lines, 1) if "def backward(ctx, grad)" in t)
    assert f"{src}:{fwd}" in text.split("Cube.forward: ")[1].splitlines()[0]
    assert f"{src}:{bwd}" in text.split("Cube.backward: ")[1].splitlines()[0]
    assert "output: (3,) float32" in text
    assert "saved ctx.saved_tensors[0]: (3,) float32 min=-1 max=2" in text


def test_g_in_a_script_run_keeps_inputs_and_flags_a_wrong_function(tmp_path):
    src = ("import nbgrad as ng\n"
           "class Square(ng.autograd.Function):\n"
           "    @staticmethod\n"
           "    def forward(ctx, x):\n"
           "        ctx.save_for_backward(x)\n"
           "        return (x * x).sum()\n"
           "    @staticmethod\n"
           "    def backward(ctx, g):\n"
           "        (x,) = ctx.saved_tensors\n"
           "        return g * x  # wrong: 2 * x\n"
           "x = ng.tensor([1.0, 2.0], requires_grad=True)\n"
           "Square.apply(x).backward()\n"
           "print(x.grad.numpy().tolist())\n")
    from nbgrad.autograd import graph

    rc, dbg, apps = _run_in_process(tmp_path, src, keys=["g", "c"])
    s = apps[0].session
    chk = next(iter(s.checks.values()))
    assert rc == 0 and not chk.ok and "SquareBackward: FAIL" in " ".join(s.events)
    assert not graph._Keep.on  # the debugger stopped keeping inputs when the script ended


def test_g_without_kept_inputs_says_how_to_keep_them():
    x = ng.tensor([1.0, 2.0], requires_grad=True)
    s = _session(x.tanh().sum(), names={"x": x})  # tanh's formula reads only its result
    assert s.check_node(_node(s, "TanhBackward0")) is None
    assert "keep_inputs()" in s.events[-1] and "cannot check" in s.events[-1]


def test_g_on_a_scalar_graph_checks_the_kernels_derivative():
    root, grad, names = demos.build("neuron")
    s = _session(root, grad, names)
    for n in s.nodes:
        if n.name != "AccumulateGrad":
            assert s.check_node(n).ok, s.events[-1]
    assert "check (g): PASS" in "\n".join(e.text for e in s.inspect(s.nodes[0]))


# --- double backward (create_graph) ----------------------------------------------------------

def test_double_backward_groups_the_first_gradients_nodes_under_their_producer():
    app, names = _app("double")

    async def script(app, scr, pilot):
        s = app.session
        groups = {title: members for _, title, members in scr.graph.groups.values()}
        assert list(groups) == ["backward of PowBackward0"]
        made = [n for n in s.nodes if n.backward_of is not None]
        assert len(made) == 3 and {id(n) for n in made} <= set(groups["backward of PowBackward0"])
        assert {s.group_of[id(n)][1] for n in made} == {"backward of PowBackward0"}
        (line,) = [tn for tn, title, _ in scr.graph.groups.values()]
        assert "backward of PowBackward0" in scr.graph.label_of(line).plain
        await pilot.press("n", "n", "p", "n")  # step, step back and replay inside the group
        assert "0/3" not in scr.graph.label_of(line).plain
        await pilot.press("c")

    _drive(app, script)
    x = names["x"]
    np.testing.assert_allclose(x.grad.numpy(), 6 * x.detach().numpy(), rtol=1e-6)


@pytest.mark.filterwarnings("ignore:Using backward\\(\\) with create_graph=True")
def test_a_create_graph_backward_steps_and_its_grads_have_a_graph(tmp_path, capsys):
    src = ("import nbgrad as ng\n"
           "x = ng.tensor([0.5, -1.0, 2.0], requires_grad=True)\n"
           "(x ** 3).sum().backward(create_graph=True)\n"
           "g = x.grad\n"
           "print(g.detach().numpy().tolist(), g.grad_fn is not None)\n"
           "x.grad = None\n"
           "g.sum().backward()\n"
           "print(x.grad.numpy().tolist())\n")
    rc, dbg, apps = _run_in_process(tmp_path, src, keys=["n", "n", "p", "c"])
    assert rc == 0 and dbg.opened == [1, 2]
    first, second = (a.session for a in apps)
    assert first.state == "finished" and any(e.startswith("step back") for e in first.events)
    assert {g[1] for g in second.group_of.values()} == {"backward of PowBackward0"}
    assert second.state == "finished"
    assert capsys.readouterr().out == "[0.75, 3.0, 12.0] True\n[3.0, -6.0, 12.0]\n"

"""nbgrad-tui's command line in a subprocess: exit status, stdout and stderr of the script passed
through, tracebacks without the tool's frames, Q, --every / --calls, piping, /dev/tty, --export."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

pytest.importorskip("textual")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)
TOOL = [sys.executable, "-m", "nbgrad_tui.cli"]

LOOP = """
import nbgrad as ng
w = ng.tensor([1.0, 2.0], requires_grad=True)
for _ in range(CALLS):
    (w * w).sum().backward()
print("grad", w.grad.numpy().tolist())
"""


def _tool(*args, cwd=None, **kw):
    """The command line in a subprocess (the environment passed through: PYTHONPATH in a work tree)."""
    return subprocess.run([*TOOL, *args], capture_output=True, text=True, cwd=cwd, timeout=300, **kw)


def _script(tmp_path, source, name="script.py"):
    p = tmp_path / name
    p.write_text(textwrap.dedent(source))
    return str(p)


def _opened(path):
    with open(path) as f:
        return [int(line.split(":")[0].split("#")[1]) for line in f]


def test_version_and_usage():
    r = _tool("--version")
    assert r.returncode == 0 and r.stdout.startswith("nbgrad-tui ") and "textual 8.2.8" in r.stdout
    r = _tool()
    assert r.returncode == 2 and r.stdout == "" and r.stderr.startswith("usage: nbgrad-tui")


def test_without_textual_it_says_how_to_install():
    code = ("import sys; sys.modules['textual'] = None; sys.modules['rich'] = None\n"
            "from nbgrad_tui.cli import main; sys.exit(main(sys.argv[1:]))")
    r = subprocess.run([sys.executable, "-c", code, "demo"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 1 and "pip install 'nbgrad[tui]'" in r.stderr and "Traceback" not in r.stderr
    r = subprocess.run([sys.executable, "-c", code, "--version"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0 and r.stdout.startswith("nbgrad-tui")


@pytest.mark.parametrize("ending, status, err", [
    ("sys.exit(3)", 3, "err\n"),
    ("sys.exit('bye')", 1, "err\nbye\n"),
    ("pass", 0, "err\n"),
])
def test_exit_status_stdout_and_stderr_pass_through(tmp_path, ending, status, err):
    p = _script(tmp_path, f"""
        import sys
        import nbgrad as ng
        print("out")
        print("err", file=sys.stderr)
        w = ng.tensor([1.0], requires_grad=True)
        (w * 2).sum().backward()
        {ending}
    """)
    r = _tool("run", "--keys", "c,q", p)
    assert (r.returncode, r.stdout, r.stderr) == (status, "out\n", err)


def _python(path):
    return subprocess.run([sys.executable, path], capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("source", [
    # an error in the script
    """
    import nbgrad as ng

    def train():
        raise ValueError("boom in script")

    train()
    """,
    # an error the backward pass raises (opened in the debugger, then raised at backward())
    """
    import nbgrad as ng
    a = ng.tensor([1.0, 2.0], requires_grad=True)
    b = a * 1.0
    c = (b * b).sum()
    b.add_(1.0)
    c.backward()
    """,
    # a syntax error
    """
    import nbgrad as ng
    x = (1,
    """,
])
def test_tracebacks_are_the_ones_python_prints(tmp_path, source):
    p = _script(tmp_path, source, "bad.py")
    r = _tool("run", "--keys", "c,q", p)
    plain = _python(p)
    assert r.returncode == plain.returncode == 1
    assert "nbgrad_tui" not in r.stderr and "runpy" not in r.stderr
    if "backward()" not in source:
        assert r.stderr == plain.stderr  # the same frames: none of the tool's
    else:  # the script's frames and the error are Python's; nbgrad's own frames differ (the pass ran stepped)
        def script_part(err):
            lines = err.splitlines()
            return [ln for i, ln in enumerate(lines) if "bad.py" in ln or (i and "bad.py" in lines[i - 1])], lines[-1]

        assert script_part(r.stderr) == script_part(plain.stderr)


def test_a_directory_or_a_missing_script(tmp_path):
    r = _tool("run", str(tmp_path))
    assert r.returncode == 2 and "is a directory with no __main__.py" in r.stderr and r.stdout == ""
    r = _tool("run", str(tmp_path / "missing.py"))
    assert r.returncode == 2 and "can't open file" in r.stderr and "Traceback" not in r.stderr


def test_shift_q_stops_debugging_and_the_script_runs_on(tmp_path):
    p = _script(tmp_path, LOOP.replace("CALLS", "3"))
    tr = str(tmp_path / "transcript")
    r = _tool("run", "--keys", "n,Q", "--transcript", tr, p)
    assert r.returncode == 0 and r.stdout == "grad [6.0, 12.0]\n" and r.stderr == ""
    assert _opened(tr) == [1]


@pytest.mark.parametrize("args, opened", [(["--every", "2"], [1, 3, 5]), (["--calls", "2:3"], [2, 3]),
                                          (["--every", "2", "--calls", "2:"], [2, 4])])
def test_every_and_calls_pick_the_backward_calls(tmp_path, args, opened):
    p = _script(tmp_path, LOOP.replace("CALLS", "5"))
    tr = str(tmp_path / "transcript")
    r = _tool("run", *args, "--keys", "c,q", "--transcript", tr, p)
    assert r.returncode == 0 and r.stdout == "grad [10.0, 20.0]\n"
    assert _opened(tr) == opened


def test_bad_options_are_usage_errors(tmp_path):
    p = _script(tmp_path, LOOP.replace("CALLS", "1"))
    for args in (["--every", "0"], ["--calls", "3:1"], ["--calls", "x"]):
        r = _tool("run", *args, p)
        assert r.returncode == 2 and "usage:" in r.stderr and r.stdout == ""


def test_no_terminal_refuses_clearly(tmp_path):
    p = _script(tmp_path, LOOP.replace("CALLS", "1"))
    # a new session has no controlling terminal: /dev/tty cannot be opened
    r = _tool("run", p, stdin=subprocess.DEVNULL, start_new_session=True)
    assert r.returncode == 2 and r.stdout == ""
    assert "/dev/tty cannot be opened" in r.stderr and "--export DIR" in r.stderr and "Traceback" not in r.stderr


def test_piped_stdout_draws_on_the_terminal(tmp_path):
    from benches.bench_tui import PtyRun

    p = _script(tmp_path, LOOP.replace("CALLS", "2"))
    out = str(tmp_path / "stdout.txt")
    run = PtyRun([*TOOL, "run", p], 100, 30, stdout_path=out)  # like `nbgrad-tui run x.py > out` in a terminal
    try:
        assert run.wait_for(rb"backward #1") is not None, run.out[-2000:]
        mark = run.send("q")
        assert run.wait_for(rb"backward #2", start=mark) is not None
        run.send("Q")
    finally:
        rc = run.close()
    assert rc == 0
    with open(out) as f:
        assert f.read() == "grad [4.0, 8.0]\n"  # the script's stdout, and nothing of the app


def test_export_without_a_terminal(tmp_path):
    p = _script(tmp_path, """
        import numpy as np
        import nbgrad as ng
        ng.manual_seed(0)
        model = ng.nn.Sequential(ng.nn.Linear(3, 4), ng.nn.ReLU(), ng.nn.Linear(4, 2))
        x = ng.randn(5, 3)
        for _ in range(3):
            model.zero_grad()
            model(x).pow(2).sum().backward()
        print("trained")
        raise SystemExit(4)
    """)
    d = tmp_path / "out"
    r = _tool("run", "--export", str(d), "--every", "2", p, stdin=subprocess.DEVNULL, start_new_session=True)
    assert (r.returncode, r.stdout, r.stderr) == (4, "trained\n", "")
    assert sorted(os.listdir(d)) == ["backward-1.dot", "backward-1.json", "backward-1.svg", "backward-3.dot",
                                     "backward-3.json", "backward-3.svg", "gradient-flow.json"]
    log = json.loads((d / "backward-3.json").read_text())
    assert log["call"] == 3 and log["state"] == "finished" and len(log["steps"]) == len(log["nodes"])
    assert {a["leaf"] for st in log["steps"] for a in st["accumulations"]} == {
        "model.0.weight", "model.0.bias", "model.2.weight", "model.2.bias"}
    flow = json.loads((d / "gradient-flow.json").read_text())
    assert flow["calls"] == [1, 2, 3] and {m["module"] for m in flow["modules"]} == {"model.0", "model.2"}
    assert all(len(m["grad_norms"]) == 3 for m in flow["modules"])


def test_demo_list_and_auto():
    r = _tool("demo", "--list")
    assert r.returncode == 0 and all(n in r.stdout for n in ("seed", "vjp", "mlp", "nan", "neuron"))
    r = _tool("demo", "vjp", "--keys", "c,q", "--transcript", os.devnull)
    assert r.returncode == 0 and r.stdout == "" and r.stderr == ""

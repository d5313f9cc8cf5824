"""docs/architecture.md's walkthrough is true: its code blocks, applied in order to a copy of
the package (append to the named file, add to the derivatives table, run the codegen), give an
op that passes the walkthrough's own test block, on the CPU and on the CUDA simulator."""

from __future__ import annotations

import os
import pathlib
import re
import shutil
import subprocess
import sys

import pytest

pytest.importorskip("torch", reason="PyTorch is the oracle")

ROOT = pathlib.Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "architecture.md"
MARK = "new ops go above this line"
BLOCK = re.compile(r"^```(\w+)(?: ([^\n]*))?\n(.*?)^```", re.S | re.M)


def _blocks() -> list[tuple[str, str, str]]:
    section = DOC.read_text().split("## Adding an op, end to end", 1)[1].split("\n## ", 1)[0]
    return [(lang, info or "", body) for lang, info, body in BLOCK.findall(section)]


def _apply(pkg_root: pathlib.Path) -> str:
    """Apply the walkthrough to the copy at pkg_root; returns the test block."""
    test = None
    for lang, info, body in _blocks():
        if info.startswith("file="):
            path = pkg_root / info[len("file="):]
            text = path.read_text()
            at = text.find(MARK)  # a file that collects its functions at the end says where new ones go
            at = text.rindex("\n", 0, at) + 1 if at >= 0 else len(text)
            path.write_text(text[:at] + "\n\n" + body + "\n\n" + text[at:])
        elif info == "table":
            path = pkg_root / "nbgrad" / "ops" / "derivatives_table.py"
            text = path.read_text()
            start = text.index('TABLE = """')
            end = text.index('\n"""', start)
            path.write_text(text[:end] + "\n" + body.rstrip("\n") + text[end:])
        elif lang == "sh":
            for line in body.strip().splitlines():
                subprocess.run(line.split(), cwd=pkg_root, check=True, env=_env(pkg_root, cuda=False),
                               timeout=300)
        elif info == "test":
            test = body
    assert test is not None, "the walkthrough has no test block"
    return test


def _env(pkg_root: pathlib.Path, cuda: bool) -> dict:
    env = dict(os.environ, PYTHONPATH=str(pkg_root), NUMBA_CACHE_DIR=str(pkg_root / ".numba-cache"))
    env.pop("NUMBA_ENABLE_CUDASIM", None)
    if cuda:
        env.update(NUMBA_ENABLE_CUDASIM="1", NBGRAD_CUDA_LAUNCH="4,2")
    return env


def test_the_walkthrough_blocks_are_there():
    kinds = [(lang, info.split("=")[0]) for lang, info, _ in _blocks()]
    assert ("python", "file") in kinds and ("text", "table") in kinds and ("python", "test") in kinds
    assert any(lang == "sh" for lang, _ in kinds)


@pytest.mark.parametrize("cuda", [False, True], ids=["cpu", "cuda-simulator"])
def test_adding_an_op_as_the_walkthrough_says(tmp_path, cuda):
    if cuda:
        pytest.importorskip("numba.cuda", reason="numba-cuda is not installed")
    shutil.copytree(ROOT / "nbgrad", tmp_path / "nbgrad", ignore=shutil.ignore_patterns("__pycache__", "*.nbi", "*.nbc"))
    test = _apply(tmp_path)
    (tmp_path / "walkthrough_test.py").write_text(test)
    r = subprocess.run([sys.executable, "walkthrough_test.py"], cwd=tmp_path, env=_env(tmp_path, cuda),
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "squareplus: ok" in r.stdout
    # the op is new: the real package does not have it
    import nbgrad as ng

    assert not hasattr(ng, "squareplus")

#!/usr/bin/env bash
# One prepared run on a machine with an NVIDIA GPU: benches/gpu_check.py against torch CUDA
# first (the figures), then the CUDA tests on the hardware. Logs and gpu_check.json go to $OUT
# (default: .). Where the machine's numpy is too new for numba-cuda, put a numpy 2.4 wheel in .whl/.
# The timeouts add up to under 10 minutes (one device command): 40 + 215 + 235 + 90 s.
set -uo pipefail
cd "$(dirname "$0")/.."
if ls .whl/numpy-2.4*.whl >/dev/null 2>&1; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site \
    .whl/numpy-2.4*.whl || exit 1
  export PYTHONPATH=/tmp/site
fi
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
OUT="${OUT:-.}"
nvidia-smi --query-gpu=name,driver_version --format=csv 2>&1 | tee "$OUT/gpu.txt"
# preflight: the default float32 tiles (128-bit shared loads, 2 blocks per SM) have not run on a GPU
# before; if they fail here (in a process of their own: a CUDA fault poisons the context), the rest
# of the session runs with the 32-bit-load tiles at 1 block per SM
if ! timeout 40 python3 - <<'PY' 2>&1 | tee "$OUT/preflight.log"; then
import numpy as np
import nbgrad as ng
rng = np.random.default_rng(0)
for m, k, n in ((256, 64, 384), (130, 9, 131), (512, 1024, 4096)):
    a, b = rng.standard_normal((m, k)).astype(np.float32), rng.standard_normal((k, n)).astype(np.float32)
    got = (ng.tensor(a, device="cuda") @ ng.tensor(b, device="cuda")).cpu().numpy()
    err = float(np.abs(got - a @ b).max())
    print(f"preflight {m}x{k}x{n}: max abs diff {err:.2e}")
    assert err < 1e-3 * k ** 0.5, err
PY
  echo "preflight failed: NBGRAD_CUDA_MM_VECTOR=0 NBGRAD_CUDA_MM_TWO_BLOCKS=0 from here on" | tee -a "$OUT/preflight.log"
  export NBGRAD_CUDA_MM_VECTOR=0 NBGRAD_CUDA_MM_TWO_BLOCKS=0
fi
timeout 215 python3 -m benches.gpu_check --out "$OUT/gpu_check.json" 2>&1 | tee "$OUT/gpu_check.log"
# the op suite, the launcher, CUDA graphs (the per-op-family graph cases only on the simulator: time)
# and the Philox generator
NBGRAD_TEST_REAL_CUDA=1 timeout 235 python3 -m pytest tests/test_cuda.py tests/test_cuda_launch.py \
  tests/test_cuda_graph.py tests/test_cuda_random.py -k "not every_op_family" -q -n 8 -p no:cacheprovider 2>&1 | tee "$OUT/tests.log" | tail -30
# the other variants on the hardware: 32-bit-load tiles at 1 block per SM (the float32 tile options
# are on by default), 4-value elementwise kernels (off by default)
NBGRAD_TEST_REAL_CUDA=1 NBGRAD_CUDA_MM_VECTOR=0 NBGRAD_CUDA_EW_VECTOR=1 NBGRAD_CUDA_MM_TWO_BLOCKS=0 timeout 90 python3 -m pytest \
  tests/test_cuda.py -q -n 8 -p no:cacheprovider -k "matmul or tiled or four_value or training or linear or add or mul" \
  2>&1 | tee "$OUT/tests_vector.log" | tail -8

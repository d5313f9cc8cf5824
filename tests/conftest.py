"""Test set-up: CUDA tests run on the numba.cuda simulator unless NBGRAD_TEST_REAL_CUDA=1."""

import os

if os.environ.get("NBGRAD_TEST_REAL_CUDA") != "1":
    os.environ.setdefault("NUMBA_ENABLE_CUDASIM", "1")
    os.environ.setdefault("NBGRAD_CUDA_LAUNCH", "4,2")  # tiny grid-stride launches: one Python thread per GPU thread

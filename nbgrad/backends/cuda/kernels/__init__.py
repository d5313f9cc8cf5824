"""numba.cuda kernels of the CUDA backend by family. Imported only when a CUDA tensor is first made.

Every kernel is a grid-stride loop (or a block-stride loop over rows), so a test can shrink the
launch (`configure(threads=..., max_blocks=...)`) to run under the simulator. Elementwise
kernels call the same shared scalar functions as the CPU ones (shared.scalar); matmul is a
generated tiled kernel with register blocking. This package's namespace gathers what the backend
launches and what tests tune (LAUNCH, configure, FOREACH: read through here at each launch)."""

from numba.cuda.core import config as _cuda_config

# small grids are intended (tiny tensors, simulator launches): no per-launch warning
_cuda_config.CUDA_LOW_OCCUPANCY_WARNINGS = 0

from ..launch import LAUNCH, LAUNCHER, MAX_THREADS, SIMULATOR, configure, launch, launch_grid  # noqa: E402
from .conv import col2im, im2col, max_pool, plane_gather, plane_scatter  # noqa: E402
from .elementwise import UNROLL, _EW, elementwise_kernel  # noqa: E402
from .index import check_unit_interval, gather, scatter_add, scatter_mid, scatter_store  # noqa: E402
from .index import check_range, gather3, index_add3, index_select3, scatter3  # noqa: E402
from .matmul import (BK, BM, BN, BP, TM, TN, _TILED, _tiled_source, matmul_simple, matmul_tiled,  # noqa: E402
                     split_k, splitk_sum, tile_loads)
from .optim import FOREACH, adam_step, adam_step_capturable, sgd_step  # noqa: E402
from .random import philox, random_advance, random_fill  # noqa: E402
from .reduce import SUM_F, SUM_I, argext_mid, block_reduce, reduce_chunks  # noqa: E402
from .rows import (log_softmax_nll_rows, logsumexp_rows, nll_backward, nll_forward, nll_reduce,  # noqa: E402
                   softmax_rows, softmax_rows_bw)
from .vector import vector_ops  # noqa: E402

"""The CPU backend's Numba kernels by family: elementwise (generated bodies, see ../codegen.py),
reduce (sums, max / min with indices), rows (softmax, logsumexp, nll), layout (transposing
copies), index (scatter-add) and optim (fused optimizer steps)."""

"""Device-free math that every device compiles from the same Python functions: the scalar math
of the elementwise ops (scalar.py, ELEMENTWISE) and the optimizers' per-element math (optim.py)."""

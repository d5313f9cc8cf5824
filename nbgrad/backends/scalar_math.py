"""The scalar math of every elementwise op, forward and backward, in one table.

Each backend lifts these expressions into its own kernels: the CPU backend's
are generated into _cpu_elementwise.py by `python -m nbgrad.backends.codegen`."""

# name -> (number of operands, scalar expression in a, b, c, d).
# Forward ops first, then the fused backward ops (each an op of its own, with its own entry
# in nbgrad/ops/derivatives.py).
ELEMENTWISE: dict[str, tuple[int, str]] = {
    "neg": (1, "-a"),
    "exp": (1, "math.exp(a)"),
    "log": (1, "math.log(a)"),
    "sqrt": (1, "math.sqrt(a)"),
    "abs": (1, "abs(a)"),
    "sin": (1, "math.sin(a)"),
    "cos": (1, "math.cos(a)"),
    "tanh": (1, "math.tanh(a)"),
    "log1p": (1, "math.log1p(a)"),
    "sign": (1, "(1 if a > 0 else (-1 if a < 0 else 0)) + a * 0"),
    "sigmoid": (1, "1.0 / (1.0 + math.exp(-a)) if a >= 0 else math.exp(a) / (1.0 + math.exp(a))"),
    "relu": (1, "a if a > 0 else a * 0"),
    "add": (2, "a + b"),
    "sub": (2, "a - b"),
    "mul": (2, "a * b"),
    "div": (2, "a / b"),
    "pow": (2, "a ** b"),
    "maximum": (2, "a if a >= b or a != a else b"),
    "minimum": (2, "a if a <= b or a != a else b"),
    "eq": (2, "a == b"),
    "ne": (2, "a != b"),
    "lt": (2, "a < b"),
    "le": (2, "a <= b"),
    "gt": (2, "a > b"),
    "ge": (2, "a >= b"),
    "where": (3, "b if a else c"),
    "sub_mul": (3, "a - b * c"),  # SGD's p - lr * d, in place
    "clamp": (3, "(b if a < b else (c if a > c else a)) if a == a else a"),
    # an index a into a dimension of size b and stride c: its share of an element's position,
    # or a large negative number when out of range (summed shares stay negative)
    "index_pos": (3, "(a + b if a < 0 else a) * c if -b <= a and a < b else -1152921504606846976"),
    # backward helpers: g is the upstream gradient
    "tanh_bw": (2, "a * (1 - b * b)"),  # g, y
    "sigmoid_bw": (2, "a * b * (1 - b)"),  # g, y
    "relu_bw": (2, "a if b > 0 else a * 0"),  # g, y
    "max_bw_a": (3, "a if b > c else (a / 2 if b == c else a * 0)"),  # g, x, other
    "min_bw_a": (3, "a if b < c else (a / 2 if b == c else a * 0)"),  # g, x, other
    "clamp_bw": (4, "a if (b >= c and b <= d) else a * 0"),  # g, x, lo, hi
    "bce_logits": (2, "max(a, 0) - a * b + math.log1p(math.exp(-abs(a)))"),  # x, y
    "bce_logits_bw": (3, "a * ((1.0 / (1.0 + math.exp(-b)) if b >= 0 else math.exp(b) / (1.0 + math.exp(b))) - c)"),
    "bce": (2, "-(b * max(math.log(a), -100.0) + (1 - b) * max(math.log1p(-a), -100.0))"),  # p, y
    "bce_bw": (3, "a * (b - c) / max((1 - b) * b, 1e-12)"),  # g, p, y
}

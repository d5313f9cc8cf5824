"""Every op's derivative, in one table (as PyTorch's derivatives.yaml).

An entry is a node's name and its inputs, the forward op it records (after `=`), then one
formula per differentiable input, written in nbgrad's own differentiable ops. The node's
backward is compiled from exactly these lines: a normal backward runs them with grad mode off;
`create_graph=True` runs them in grad mode, so they record a graph of their own and the same
rule gives second and higher derivatives. autograd.check_node re-runs the forward expression
to check a node's formulas against finite differences.
Fused backward kernels (tanh_backward, softmax_backward_data, nll_loss_backward, ...) are ops
in their own right, with their own entries further down.

In a formula:
- `grad` is the gradient of the op's output and `result` the output itself;
- a line `a, b: f(...)` gives several inputs' gradients from one call (as a tuple in that order,
  None where one is not needed); `output_mask` is the tuple of which of them are;
- an input's name is that input as the forward saved it; `<input>_shape` is its shape and
  `result_shape` the output's (in the forward expression);
- a header `Name(a, b; extra)` lists the inputs, then other tensors the forward saves;
  `tensors*` is a list of inputs, whose formula gives one gradient per tensor;
- any other name is an attribute the forward recorded (dim, keepdim, alpha, ...) or a
  function of nbgrad.ops.grad_helpers (PyTorch's FunctionsManual), which holds the formulas
  too long for one line, written in the same ops.
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
from typing import Any

import nbgrad

from .. import ops
from ..autograd.function import Node

TABLE = """
# ---------------------------------------------------------------- arithmetic
AddBackward0(self, other) = self.add(other, alpha=alpha)
    self: grad
    other: maybe_multiply(grad, alpha)
SubBackward0(self, other) = self.sub(other, alpha=alpha)
    self: grad
    other: maybe_multiply(-grad, alpha)
RsubBackward1(self) = rsub(self, other, alpha)
    self: maybe_multiply(-grad, alpha)
MulBackward0(self, other) = self * other
    self: grad * other
    other: grad * self
DivBackward0(self, other) = self / other
    self: grad / other
    other: -grad * self / (other * other)
NegBackward0(self) = -self
    self: -grad
PowBackward0(self) = self ** exponent
    self: pow_backward(grad, self, exponent)
PowBackward1(self, exponent) = self ** exponent
    self: pow_backward_self(grad, self, exponent)
    exponent: pow_backward_exponent(grad, self, exponent, result)
PowBackward2(exponent) = base ** exponent
    exponent: pow_backward_exponent(grad, base, exponent, result)

# ---------------------------------------------------------------- unary
ExpBackward0(self) = self.exp()
    self: grad * result
LogBackward0(self) = self.log()
    self: grad / self
Log1PBackward0(self) = self.log1p()
    self: grad / (self + 1)
SqrtBackward0(self) = self.sqrt()
    self: grad / (2 * result)
AbsBackward0(self) = self.abs()
    self: grad * sgn(self)
SinBackward0(self) = self.sin()
    self: grad * cos(self)
CosBackward0(self) = self.cos()
    self: grad * -sin(self)
TanhBackward0(self) = self.tanh()
    self: tanh_backward(grad, result)
SigmoidBackward0(self) = self.sigmoid()
    self: sigmoid_backward(grad, result)
ReluBackward0(self) = self.relu()
    self: threshold_backward(grad, result, 0)
ClampBackward1(self) = self.clamp(min, max)
    self: clamp_backward(grad, self, min, max)
MaximumBackward0(self, other) = self.maximum(other)
    self: max_backward(grad, self, other)
    other: max_backward(grad, other, self)
MinimumBackward0(self, other) = self.minimum(other)
    self: min_backward(grad, self, other)
    other: min_backward(grad, other, self)
WhereBackward0(condition, self, other) = where(condition, self, other)
    self: where(condition, grad, 0)
    other: where(condition, 0, grad)

# ---------------------------------------------------------------- fused elementwise backwards
TanhBackwardBackward0(grad_output, output) = tanh_backward(grad_output, output)
    grad_output: tanh_backward(grad, output)
    output: -2 * output * grad * grad_output
SigmoidBackwardBackward0(grad_output, output) = sigmoid_backward(grad_output, output)
    grad_output: sigmoid_backward(grad, output)
    output: grad * grad_output * (1 - 2 * output)
ThresholdBackwardBackward0(grad_output, self) = threshold_backward(grad_output, self, threshold)
    grad_output: threshold_backward(grad, self, threshold)
    self: zeros_like(grad)
ClampBackwardBackward0(grad_output; self) = clamp_backward(grad_output, self, min, max)
    grad_output: clamp_backward(grad, self, min, max)
MaxBackwardBackward0(grad_output; self, other) = max_backward(grad_output, self, other)
    grad_output: max_backward(grad, self, other)
MinBackwardBackward0(grad_output; self, other) = min_backward(grad_output, self, other)
    grad_output: min_backward(grad, self, other)

# ---------------------------------------------------------------- reductions
SumBackward0(self) = self.sum()
    self: grad.expand(self_shape)
SumBackward1(self) = self.sum(dim, keepdim=keepdim)
    self: sum_backward(grad, self_shape, dim, keepdim)
MeanBackward0(self) = self.mean()
    self: grad.expand(self_shape) * scale
MeanBackward1(self) = self.mean(dim, keepdim=keepdim)
    self: sum_backward(grad, self_shape, dim, keepdim) * scale
SumToSizeBackward0(self) = self.sum_to_size(result_shape)
    self: grad.expand(self_shape)
MaxBackward0(self) = self.max()
    self: evenly_distribute_backward(grad, self, result)
MinBackward0(self) = self.min()
    self: evenly_distribute_backward(grad, self, result)
NansumBackward0(self) = self.nansum(dim, keepdim=keepdim)
    self: sum_backward(grad, self_shape, dim, keepdim) * self.isnan().logical_not()
AmaxBackward0(self) = self.amax(dim, keepdim)
    self: amax_backward(grad, self, result, dim, keepdim)
AminBackward0(self) = self.amin(dim, keepdim)
    self: amax_backward(grad, self, result, dim, keepdim)
MaxBackward1(self; indices) = self.max(dim, keepdim=keepdim)[0]
    self: value_selecting_reduction_backward(grad, dim, indices, self_shape, keepdim)
MinBackward1(self; indices) = self.min(dim, keepdim=keepdim)[0]
    self: value_selecting_reduction_backward(grad, dim, indices, self_shape, keepdim)
ValueSelectingReductionBackwardBackward0(grad_output; indices) = value_selecting_reduction_backward(grad_output, dim, indices, result_shape, keepdim)
    grad_output: value_selecting_reduction_backward_backward(grad, dim, indices, keepdim)
VarBackward0(self) = self.var(dim, correction=correction, keepdim=keepdim)
    self: var_backward(grad, self, dim, correction, keepdim)
StdBackward0(self) = self.std(dim, correction=correction, keepdim=keepdim)
    self: std_backward(result, grad, self, dim, correction, keepdim)
LogsumexpBackward0(self) = self.logsumexp(dim, keepdim=keepdim)
    self: logsumexp_backward(grad, self, result, dim, keepdim)
SoftmaxBackward0(self) = self.softmax(dim)
    self: softmax_backward_data(grad, result, dim)
LogSoftmaxBackward0(self) = self.log_softmax(dim)
    self: log_softmax_backward_data(grad, result, dim)
SoftmaxBackwardDataBackward0(grad_output, output) = softmax_backward_data(grad_output, output, dim)
    grad_output: softmax_backward_data(grad, output, dim)
    output: softmax_double_backward(grad, grad_output, output, dim)
LogSoftmaxBackwardDataBackward0(grad_output, output) = log_softmax_backward_data(grad_output, output, dim)
    grad_output: grad - (grad * output.exp()).sum(dim, keepdim=True)
    output: -grad_output.sum(dim, keepdim=True) * output.exp() * grad

# ---------------------------------------------------------------- matrix products
MmBackward0(self, other) = self @ other
    self: matmul_backward_self(grad, self, other)
    other: matmul_backward_other(grad, self, other)
MvBackward0(self, other) = self @ other
    self: matmul_backward_self(grad, self, other)
    other: matmul_backward_other(grad, self, other)
DotBackward0(self, other) = self @ other
    self: matmul_backward_self(grad, self, other)
    other: matmul_backward_other(grad, self, other)
BmmBackward0(self, other) = self @ other
    self: matmul_backward_self(grad, self, other)
    other: matmul_backward_other(grad, self, other)
OuterBackward0(self, vec2) = self.outer(vec2)
    self: grad @ vec2
    vec2: self @ grad
AddmmBackward0(bias, input, weight) = linear(input, weight, bias)
    bias, input, weight: linear_backward(grad, input, weight, output_mask)

# ---------------------------------------------------------------- shape, views, indexing, copies
ViewBackward0(self) = self.reshape(result_shape)
    self: grad.reshape(self_shape)
UnsqueezeBackward0(self) = self.reshape(result_shape)
    self: grad.reshape(self_shape)
SqueezeBackward1(self) = self.reshape(result_shape)
    self: grad.reshape(self_shape)
PermuteBackward0(self) = self.permute(dims)
    self: permute_backward(grad, dims)
TransposeBackward0(self) = self.transpose(dim0, dim1)
    self: grad.transpose(dim0, dim1)
ExpandBackward0(self) = self.expand(result_shape)
    self: sum_to_size(grad, self_shape)
IndexBackward0(self) = apply_index(self, index)
    self: index_backward(grad, self_shape, index)
SelectBackward0(self) = apply_index(self, index)
    self: index_backward(grad, self_shape, index)
SliceBackward0(self) = apply_index(self, index)
    self: index_backward(grad, self_shape, index)
IndexPutBackward0(grad_output) = index_backward(grad_output, result_shape, index)
    grad_output: apply_index(grad, index)
IndexPutBackward1(self, values) = index_put(self, index, values)
    self: index_put_backward_self(grad, index)
    values: apply_index(grad, index)
IndexPutBackwardSelf0(grad_output) = index_put_backward_self(grad_output, index)
    grad_output: index_put_backward_self(grad, index)
CatBackward0(tensors*) = cat(tensors, dim)
    tensors: cat_backward(grad, sizes, dim)
StackBackward0(tensors*) = stack(tensors, dim)
    tensors: stack_backward(grad, dim)
CloneBackward0(self) = self.clone()
    self: grad
ToCopyBackward0(self)
    self: to_device(grad, source)
CopySlices(self, src)
    self: copy_slices_backward(grad, view_fn)
    src: view_fn(grad)
CopySlicesBackwardBackward0(grad_output) = copy_slices_backward(grad_output, view_fn)
    grad_output: copy_slices_backward(grad, view_fn)
OnceDifferentiableBackward(self)
    self: once_differentiable_error(fn_name)

# ---------------------------------------------------------------- losses
BinaryCrossEntropyWithLogitsBackward0(self, target; weight) = binary_cross_entropy_with_logits(self, target, weight, reduction=reduction)
    self: binary_cross_entropy_with_logits_backward(grad, self, target, weight, reduction)
    target: -loss_grad(grad, self, weight, reduction) * self
BinaryCrossEntropyBackward0(self, target; weight) = binary_cross_entropy(self, target, weight, reduction=reduction)
    self: binary_cross_entropy_backward(grad, self, target, weight, reduction)
    target: binary_cross_entropy_target_backward(loss_grad(grad, self, weight, reduction), self)
MseLossBackward0(self, target) = mse_loss(self, target, reduction=reduction)
    self: mse_loss_backward(grad, self, target, reduction)
    target: -mse_loss_backward(grad, self, target, reduction)
NllLossBackward0(self; target, weight, total_weight) = nll_loss(self, target, weight, ignore_index=ignore_index, reduction=reduction)
    self: nll_loss_backward(grad, self_shape, target, weight, reduction, ignore_index, total_weight)
BinaryCrossEntropyWithLogitsBackwardBackward0(grad_output, self, target; weight) = binary_cross_entropy_with_logits_backward(grad_output, self, target, weight, reduction)
    grad_output: loss_grad(binary_cross_entropy_with_logits_backward(grad, self, target, weight, "none"), self, None, reduction)
    self: grad * sigmoid_backward(loss_grad(grad_output, self, weight, reduction), sigmoid(self))
    target: -grad * loss_grad(grad_output, self, weight, reduction)
BinaryCrossEntropyBackwardBackward0(grad_output, self, target; weight) = binary_cross_entropy_backward(grad_output, self, target, weight, reduction)
    grad_output: loss_grad(binary_cross_entropy_backward(grad, self, target, weight, "none"), self, None, reduction)
    self: grad * loss_grad(grad_output, self, weight, reduction) * binary_cross_entropy_double_backward(self, target)
    target: -grad * loss_grad(grad_output, self, weight, reduction) / ((1 - self) * self).clamp(min=1e-12)
NllLossBackwardBackward0(grad_output; target, weight)
    grad_output: nll_loss(grad, target, weight, reduction=reduction, ignore_index=ignore_index)

# ---------------------------------------------------------------- more elementwise math (issue 16)
TanBackward0(self) = self.tan()
    self: grad * (1 + result * result)
AsinBackward0(self) = self.asin()
    self: grad * (1 - self * self).rsqrt()
AcosBackward0(self) = self.acos()
    self: -grad * (1 - self * self).rsqrt()
AtanBackward0(self) = self.atan()
    self: grad / (self * self + 1)
SinhBackward0(self) = self.sinh()
    self: grad * self.cosh()
CoshBackward0(self) = self.cosh()
    self: grad * self.sinh()
AsinhBackward0(self) = self.asinh()
    self: grad * (self * self + 1).rsqrt()
AcoshBackward0(self) = self.acosh()
    self: grad * (self * self - 1).rsqrt()
AtanhBackward0(self) = self.atanh()
    self: grad / (1 - self * self)
Log2Backward0(self) = self.log2()
    self: grad / (self * 0.6931471805599453)
Log10Backward0(self) = self.log10()
    self: grad / (self * 2.302585092994046)
Expm1Backward0(self) = self.expm1()
    self: grad * (result + 1)
Exp2Backward0(self) = self.exp2()
    self: grad * result * 0.6931471805599453
ErfBackward0(self) = self.erf()
    self: grad * 1.1283791670955126 * (-self * self).exp()
ErfcBackward0(self) = self.erfc()
    self: -grad * 1.1283791670955126 * (-self * self).exp()
ErfinvBackward0(self) = self.erfinv()
    self: grad * 0.886226925452758 * (result * result).exp()
LgammaBackward0(self) = self.lgamma()
    self: grad * self.digamma()
DigammaBackward0(self) = self.digamma()
    self: grad * self.polygamma(1)
PolygammaBackward0(self) = self.polygamma(n)
    self: grad * self.polygamma(n + 1)
RsqrtBackward0(self) = self.rsqrt()
    self: -0.5 * grad * result * result * result
ReciprocalBackward0(self) = self.reciprocal()
    self: -grad * result * result
FloorBackward0(self) = self.floor()
    self: zeros_like(grad)
CeilBackward0(self) = self.ceil()
    self: zeros_like(grad)
TruncBackward0(self) = self.trunc()
    self: zeros_like(grad)
RoundBackward0(self) = self.round()
    self: zeros_like(grad)
RoundBackward1(self) = self.round(decimals=decimals)
    self: zeros_like(grad)
SignBackward0(self) = self.sign()
    self: zeros_like(grad)
SgnBackward0(self) = self.sgn()
    self: zeros_like(grad)
FracBackward0(self) = self.frac()
    self: grad
Atan2Backward0(self, other) = self.atan2(other)
    self: grad * other / (self * self + other * other)
    other: -grad * self / (self * self + other * other)
HypotBackward0(self, other) = self.hypot(other)
    self: grad * self / result
    other: grad * other / result
LogaddexpBackward0(self, other) = self.logaddexp(other)
    self: grad * sigmoid(self - other)
    other: grad * sigmoid(other - self)
Logaddexp2Backward0(self, other) = self.logaddexp2(other)
    self: grad * sigmoid((self - other) * 0.6931471805599453)
    other: grad * sigmoid((other - self) * 0.6931471805599453)
XlogyBackward0(self, other) = self.xlogy(other)
    self: grad * (self != 0).xlogy(other)
    other: grad * self / other
FmodBackward0(self) = self.fmod(other)
    self: grad
FmodBackward1(self, other) = self.fmod(other)
    self: grad
    other: -grad * self.div(other, rounding_mode="trunc")
RemainderBackward0(self) = self.remainder(other)
    self: grad
RemainderBackward1(self, other) = self.remainder(other)
    self: grad
    other: -grad * self.div(other, rounding_mode="floor")
DivBackward2(self, other) = self.div(other, rounding_mode=rounding_mode)
    self: zeros_like(grad)
    other: zeros_like(grad)
LerpBackward0(self, end) = self.lerp(end, weight)
    self: grad * (1 - weight)
    end: grad * weight
LerpBackward1(self, end, weight) = self.lerp(end, weight)
    self: grad * (1 - weight)
    end: grad * weight
    weight: grad * (end - self)
NanToNumBackward0(self) = self.nan_to_num(nan, posinf, neginf)
    self: where(self.isfinite(), grad, 0)
ClampBackward0(self, min, max) = self.clamp(min, max)
    self: clamp_backward_tensors(grad, self, min, max)
    min: clamp_backward_min(grad, self, min, max)
    max: clamp_backward_max(grad, self, min, max)

# ---------------------------------------------------------------- activations (issue 16)
SiluBackward0(self) = silu(self)
    self: silu_backward(grad, self)
SiluBackwardBackward0(grad_output, self) = silu_backward(grad_output, self)
    grad_output: silu_backward(grad, self)
    self: silu_double_backward(grad * grad_output, self)
MishBackward0(self) = mish(self)
    self: mish_backward(grad, self)
MishBackwardBackward0(grad_output, self) = mish_backward(grad_output, self)
    grad_output: mish_backward(grad, self)
    self: mish_double_backward(grad * grad_output, self)
LeakyReluBackward0(self) = leaky_relu(self, negative_slope)
    self: leaky_relu_backward(grad, self, negative_slope)
LeakyReluBackwardBackward0(grad_output, self) = leaky_relu_backward(grad_output, self, negative_slope)
    grad_output: leaky_relu_backward(grad, self, negative_slope)
    self: zeros_like(grad)
EluBackward0(self) = elu(self, alpha, scale, input_scale)
    self: elu_backward(grad, self, alpha, scale, input_scale)
CeluBackward0(self) = elu(self, alpha, scale, input_scale)
    self: elu_backward(grad, self, alpha, scale, float32_reciprocal(alpha))
EluBackwardBackward0(grad_output, self) = elu_backward(grad_output, self, alpha, scale, input_scale)
    grad_output: elu_backward(grad, self, alpha, scale, input_scale)
    self: where(self > 0, 0.0, grad * grad_output * (alpha * scale * input_scale * input_scale) * (self * input_scale).exp())
SoftplusBackward0(self) = softplus(self, beta, threshold)
    self: softplus_backward(grad, self, beta, threshold)
SoftplusBackwardBackward0(grad_output, self) = softplus_backward(grad_output, self, beta, threshold)
    grad_output: softplus_backward(grad, self, beta, threshold)
    self: softplus_double_backward(grad * grad_output, self, beta, threshold)
HardtanhBackward0(self) = hardtanh(self, min_val, max_val)
    self: hardtanh_backward(grad, self, min_val, max_val)
HardtanhBackwardBackward0(grad_output, self) = hardtanh_backward(grad_output, self, min_val, max_val)
    grad_output: hardtanh_backward(grad, self, min_val, max_val)
    self: zeros_like(grad)
HardsigmoidBackward0(self) = hardsigmoid(self)
    self: hardsigmoid_backward(grad, self)
HardsigmoidBackwardBackward0(grad_output, self) = hardsigmoid_backward(grad_output, self)
    grad_output: hardsigmoid_backward(grad, self)
    self: zeros_like(grad)
HardswishBackward0(self) = hardswish(self)
    self: hardswish_backward(grad, self)
HardswishBackwardBackward0(grad_output, self) = hardswish_backward(grad_output, self)
    grad_output: hardswish_backward(grad, self)
    self: where(self > -3, where(self < 3, grad * grad_output / 3, 0.0), 0.0)
LogSigmoidBackward0(self) = log_sigmoid(self)
    self: log_sigmoid_backward(grad, self)
LogSigmoidBackwardBackward0(grad_output, self) = log_sigmoid_backward(grad_output, self)
    grad_output: log_sigmoid_backward(grad, self)
    self: sigmoid_backward(-grad * grad_output, sigmoid(self))

# ---------------------------------------------------------------- more losses (issue 16)

# ---------------------------------------------------------------- shape and repeat (issue 16)
FlipBackward0(self) = self.flip(dims)
    self: grad.flip(dims)
RollBackward0(self) = self.roll(shifts, dims)
    self: roll_backward(grad, shifts, dims)

# ---------------------------------------------------------------- index, gather and scatter (issue 16)
GatherBackward0(self; index) = self.gather(dim, index)
    self: gather_backward(grad, self_shape, dim, index)
ScatterBackward0(self, src; index) = self.scatter(dim, index, src)
    self: grad.scatter(dim, index, 0)
    src: scatter_src_backward(grad, dim, index, src_shape)
ScatterBackward1(self; index) = self.scatter(dim, index, value)
    self: grad.scatter(dim, index, 0)
ScatterAddBackward0(self, src; index) = self.scatter_add(dim, index, src)
    self: grad
    src: scatter_src_backward(grad, dim, index, src_shape)
ScatterReduceBackward0(self, src; index) = self.scatter_reduce(dim, index, src, reduce, include_self=include_self)
    self: scatter_reduce_backward_self(grad, self, dim, index, src, reduce, include_self, result)
    src: scatter_reduce_backward_src(grad, self, dim, index, src, reduce, include_self, result)
IndexSelectBackward0(self; index) = self.index_select(dim, index)
    self: index_select_backward(grad, self_shape, dim, index)
IndexAddBackward0(self, source; index) = self.index_add(dim, index, source, alpha=alpha)
    self: grad
    source: index_add_source_backward(grad, dim, index, source_shape, alpha)
IndexCopyBackward0(self, source; index) = self.index_copy(dim, index, source)
    self: grad.index_fill(dim, index, 0)
    source: index_add_source_backward(grad, dim, index, source_shape, 1)
IndexFillBackward0(self; index) = self.index_fill(dim, index, value)
    self: grad.index_fill(dim, index, 0)
IndexFillBackward1(self, value; index) = self.index_fill(dim, index, value)
    self: grad.index_fill(dim, index, 0)
    value: index_fill_value_backward(grad, dim, index)

# ---------------------------------------------------------------- scans and order (issue 16)
CumsumBackward0(self) = self.cumsum(dim)
    self: reversed_cumsum(grad, dim)
CumprodBackward0(self) = self.cumprod(dim)
    self: cumprod_backward(grad, self, dim, result)
CummaxBackward0(self; indices) = self.cummax(dim)[0]
    self: cummaxmin_backward(grad, self, indices, dim)
CumminBackward0(self; indices) = self.cummin(dim)[0]
    self: cummaxmin_backward(grad, self, indices, dim)
LogcumsumexpBackward0(self) = self.logcumsumexp(dim)
    self: logcumsumexp_backward(grad, self, result, dim)
TrilBackward0(self) = self.tril(diagonal)
    self: grad.tril(diagonal)
TriuBackward0(self) = self.triu(diagonal)
    self: grad.triu(diagonal)
ProdBackward0(self) = self.prod()
    self: prod_backward(grad, self, None, False)
ProdBackward1(self) = self.prod(dim, keepdim=keepdim)
    self: prod_backward(grad, self, dim, keepdim)
SortBackward0(self; indices) = self.sort(dim, descending)[0]
    self: sorted_backward(grad, self_shape, dim, indices)
TopkBackward0(self; indices) = self.topk(k, dim, largest)[0]
    self: sorted_backward(grad, self_shape, dim, indices)
KthvalueBackward0(self; indices) = self.kthvalue(k, dim, keepdim=keepdim)[0]
    self: selected_backward(grad, dim, indices, self_shape, keepdim)
MedianBackward0(self) = self.median()
    self: evenly_distribute_backward(grad, self, result)
MedianBackward1(self; indices) = self.median(dim, keepdim=keepdim)[0]
    self: selected_backward(grad, dim, indices, self_shape, keepdim)
ModeBackward0(self; indices) = self.mode(dim, keepdim=keepdim)[0]
    self: selected_backward(grad, dim, indices, self_shape, keepdim)

# ---------------------------------------------------------------- linear algebra (issue 16)
DiagonalBackward0(self) = self.diagonal(offset, dim1, dim2)
    self: diagonal_backward(grad, self_shape, offset, dim1, dim2)
LinalgVectorNormBackward0(self) = vector_norm(self, ord, dim, keepdim)
    self: norm_backward(grad, self, ord, result, dim, keepdim)

# ---------------------------------------------------------------- layers: convolution, pooling, normalisation, dropout, embedding (issue 17)
ConvolutionBackward0(input, weight, bias; columns) = convolution(input, weight, bias, stride, padding, dilation, groups, out_hw)
    input: convolution_backward_input(grad, weight, input_shape, stride, padding, dilation, groups)
    weight: convolution_backward_weight(grad, input, weight_shape, stride, padding, dilation, groups, columns)
    bias: grad.sum((2, 3)).sum(0)
ConvolutionBackwardInputBackward0(grad_output, weight) = convolution_backward_input(grad_output, weight, result_shape, stride, padding, dilation, groups)
    grad_output: convolution(grad, weight, None, stride, padding, dilation, groups, grad_output_shape[2:])
    weight: convolution_backward_weight(grad_output, grad, weight_shape, stride, padding, dilation, groups)
ConvolutionBackwardWeightBackward0(grad_output, input) = convolution_backward_weight(grad_output, input, result_shape, stride, padding, dilation, groups)
    grad_output: convolution(input, grad, None, stride, padding, dilation, groups, grad_output_shape[2:])
    input: convolution_backward_input(grad_output, grad, input_shape, stride, padding, dilation, groups)
MaxPool2DWithIndicesBackward0(self; indices) = max_pool2d_with_indices(self, kernel_size, stride, padding, dilation, ceil_mode)[0]
    self: max_pool2d_with_indices_backward(grad, self_shape, indices)
MaxPool2DWithIndicesBackwardBackward0(grad_output; indices) = max_pool2d_with_indices_backward(grad_output, result_shape, indices)
    grad_output: plane_gather(grad, indices)
PlaneGatherBackward0(self; indices) = plane_gather(self, indices)
    self: max_pool2d_with_indices_backward(grad, self_shape, indices)
GeluBackward0(self) = gelu(self, approximate=approximate)
    self: gelu_backward(grad, self, approximate)
GeluBackwardBackward0(grad_output, self) = gelu_backward(grad_output, self, approximate)
    grad_output: gelu_backward(grad, self, approximate)
    self: gelu_double_backward(grad, grad_output, self, approximate)
NativeLayerNormBackward1(input, weight, bias; mean, rstd) = layer_norm_affine(input, weight, bias, normalized_ndim, eps)
    input, weight, bias: layer_norm_affine_backward(grad, input, weight, mean, rstd, normalized_ndim, eps, output_mask)
NativeLayerNormBackward0(input; rstd) = normalize_rows(input, normalized_ndim, eps)
    input: layer_norm_backward(grad, result, layer_norm_rstd(input, rstd, normalized_ndim, eps), normalized_ndim)
LayerNormBackwardBackward0(grad_output, output, rstd) = layer_norm_backward(grad_output, output, rstd, normalized_ndim)
    grad_output: layer_norm_backward(grad, output, rstd, normalized_ndim)
    output: layer_norm_backward_output(grad, grad_output, output, rstd, normalized_ndim)
    rstd: layer_norm_backward_rstd(grad, grad_output, output, normalized_ndim)
"""


GROUPS: dict[str, list[tuple[str, ...]]] = {}  # node: the inputs that share one formula, as written


def parse(text: str = TABLE) -> dict[str, tuple[tuple[str, ...], tuple[str, ...], bool, dict[str, str], str | None]]:
    """{node name: (inputs, extra saved names, variadic, {input: formula}, forward)}, in table order."""
    out: dict = {}
    current = current_name = None
    for raw in text.splitlines():
        line = raw.rstrip()
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if not line.startswith(" "):
            head, _, forward = line.partition(" = ")
            name, rest = head.split("(", 1)
            sig = rest.rstrip(")")
            ins, _, extra = sig.partition(";")
            inputs = tuple(s.strip() for s in ins.split(",") if s.strip())
            variadic = len(inputs) == 1 and inputs[0].endswith("*")
            inputs = tuple(s.rstrip("*") for s in inputs)
            current_name = name
            current = out[name] = (inputs, tuple(s.strip() for s in extra.split(",") if s.strip()), variadic, {},
                                   forward.strip() or None)
        else:
            assert current is not None
            key, formula = line.strip().split(":", 1)
            for k in key.split(","):
                if k.strip() not in current[0]:
                    raise ValueError(f"derivatives table: {k.strip()!r} is not an input of its node")
                current[3][k.strip()] = formula.strip()
            if "," in key:  # several inputs' gradients from one call
                GROUPS.setdefault(current_name, []).append(tuple(k.strip() for k in key.split(",")))
    return out


_ENTRIES = parse()
_NAMESPACE: dict[str, Any] = {}


def _namespace() -> dict[str, Any]:
    if not _NAMESPACE:
        # lazy by design: grad_helpers imports every ops module by name, and each of them imports
        # this module first; it is loaded when the first formula runs, once they all exist
        from . import grad_helpers

        _NAMESPACE.update({k: v for k, v in vars(grad_helpers).items()
                           if callable(v) and not k.startswith("_") and k not in ("Any", "Tensor")})
    return _NAMESPACE


_FORWARD_NAMESPACE: dict[str, Any] = {}


def _forward_namespace() -> dict[str, Any]:
    """What the forward expressions of TABLE call: the public functions of nbgrad, of
    nn.functional and of every ops module (the fused backward ops too), and the formulas' names."""
    if not _FORWARD_NAMESPACE:  # (at call time: nbgrad, nbgrad.nn and every ops module exist by then)
        ns: dict[str, Any] = {}
        modules = [nbgrad, nbgrad.nn.functional]
        modules += [importlib.import_module(f"{__package__}.{m.name}") for m in pkgutil.iter_modules(ops.__path__)
                    if not m.name.startswith("_") and m.name != "derivatives_table"]
        for mod in modules:
            ns.update({k: v for k, v in vars(mod).items() if callable(v) and not k.startswith("_")})
        ns.update(_namespace())
        _FORWARD_NAMESPACE.update(ns)
    return _FORWARD_NAMESPACE


def _names(expr: str) -> list[str]:
    return list(dict.fromkeys(n.id for n in ast.walk(ast.parse(expr, mode="eval")) if isinstance(n, ast.Name)))


def _source(name: str, inputs: tuple, extra: tuple, variadic: bool, formulas: dict, helpers: set,
            groups: list | tuple = ()) -> str:
    """The Python source of a node's apply(node, grads), from its formulas: each input's
    formula runs only when that input takes a gradient; saved tensors are unpacked (version-
    checked) by the formulas that read them."""
    lines = [f"def {name}_apply(node, grads):", "    grad = grads[0]"]
    saved = [n for f in formulas.values() for n in _names(f) if n in inputs or n in extra or n == "result"]
    if saved:
        lines += ["    sv = node._saved", "    if sv is None:", "        sv = _no_saved(node)"]
    if variadic:
        (inp,) = inputs
        if inp not in formulas:
            return "\n".join(lines + ["    return (None,) * len(node.next_functions)"])
        lines += [f"    {n} = node.{n}" for n in _names(formulas[inp]) if n != "grad" and n not in helpers]
        lines.append(f"    return tuple({formulas[inp]})")
        return "\n".join(lines)
    lines.append("    nf = node.next_functions")
    results = [f"r{i}" for i in range(len(inputs))]
    lines += [f"    {r} = None" for r in results]
    grouped = {k: g for g in groups for k in g}
    for i, inp in enumerate(inputs):
        r = results[i]
        if inp not in formulas or (inp in grouped and grouped[inp][0] != inp):
            continue
        if inp in grouped:  # one call gives the group's gradients, in its order (None where not needed)
            pos = [inputs.index(k) for k in grouped[inp]]
            mask = ", ".join(f"nf[{p}][0] is not None" for p in pos) + ("," if len(pos) == 1 else "")
            lines.append(f"    output_mask = ({mask})")
            lines.append("    if any(output_mask):")
            r = ", ".join(results[p] for p in pos) + ("," if len(pos) == 1 else "")
        else:
            lines.append(f"    if nf[{i}][0] is not None:")
        for n in _names(formulas[inp]):
            if n == "grad" or n == "output_mask" or n in helpers:
                continue
            if n in inputs or n in extra or n == "result":
                lines.append(f"        {n} = sv[{n!r}].unpack(node) if {n!r} in sv else None")
            elif n.endswith("_shape") and n[:-6] in inputs:
                lines.append(f"        {n} = node.input_shapes[{inputs.index(n[:-6])}][0]")
            else:
                lines.append(f"        {n} = node.{n}")
        lines.append(f"        {r} = {formulas[inp]}")
    lines.append(f"    return ({', '.join(results)}{',' if len(results) == 1 else ''})")
    return "\n".join(lines)


def _no_saved(node: Node) -> dict:
    """A node's saved tensors once freed: PyTorch's error; {} for a node that saved none."""
    if node._released:
        node.saved("")  # raises
    return {}


class TableNode(Node):
    """A node whose apply() is compiled, at its first use, from its entry in TABLE (the
    compiled function then replaces this class's apply)."""

    inputs: tuple[str, ...] = ()
    extra_saved: tuple[str, ...] = ()
    variadic = False
    formulas: dict[str, str] = {}
    groups: tuple[tuple[str, ...], ...] = ()  # inputs whose gradients one formula gives together
    forward: str | None = None  # the op, as an expression of the same names (what check_node re-runs)
    _plans: dict[int, tuple[str, ...]] = {}

    def apply(self, grads: tuple) -> tuple:
        return type(self)._compile()(self, grads)

    @classmethod
    def _compile(cls) -> Any:
        ns = dict(_namespace())
        ns["_no_saved"] = _no_saved
        src = _source(cls.name, cls.inputs, cls.extra_saved, cls.variadic, cls.formulas, set(ns), cls.groups)
        exec(compile(src, f"<derivatives: {cls.name}>", "exec"), ns)
        fn = ns[f"{cls.name}_apply"]
        cls.apply = fn  # type: ignore[method-assign]
        return fn

    def saved_or_none(self, key: str) -> Any:
        if self._saved is not None and key in self._saved:
            return self.saved(key)
        if self._released:
            self.saved(key)  # raises PyTorch's error
        return None

    @classmethod
    def saves_for(cls, mask: int) -> tuple[str, ...]:
        """The tensors to save when the inputs in bitmask `mask` take gradients (-1: all)."""
        plan = cls._plans.get(mask)
        if plan is None:
            names: dict[str, None] = {}
            helpers = set(_namespace())
            for i, inp in enumerate(cls.inputs):
                if (cls.variadic or mask < 0 or mask >> i & 1) and inp in cls.formulas:
                    for n in _names(cls.formulas[inp]):
                        if n not in helpers and (n in cls.inputs or n in cls.extra_saved or n == "result"):
                            names[n] = None
            plan = cls._plans[mask] = tuple(names)
        return plan


def _make(name: str) -> type[TableNode]:
    inputs, extra, variadic, formulas, forward = _ENTRIES[name]
    groups = tuple(GROUPS.get(name, ()))
    grouped = {k: g for g in groups for k in g}
    lines = [f"{', '.join(grouped.get(k, (k,)))}: {v}" for k, v in formulas.items() if grouped.get(k, (k,))[0] == k]
    return type(name, (TableNode,), {"name": name, "inputs": inputs, "extra_saved": extra, "variadic": variadic,
                                     "formulas": formulas, "groups": groups, "forward": forward, "_plans": {},
                                     "formula": "; ".join(lines), "__module__": __name__})


NODES: dict[str, type[TableNode]] = {name: _make(name) for name in _ENTRIES}
globals().update(NODES)


def source(name: str) -> str:
    """The generated backward of a node (what runs), for reading."""
    cls = NODES[name]
    return _source(name, cls.inputs, cls.extra_saved, cls.variadic, cls.formulas, set(_namespace()), cls.groups)

"""128-bit accesses of four float32 values (LD4 / G4 / S4) for the generated kernels: intrinsics on
a GPU, scalar reads of the same elements under the simulator."""

from __future__ import annotations

from typing import Any

from numba import cuda

from ..launch import SIMULATOR


def _load4_fallback(arr, r, c):  # pragma: no cover  (the simulator's LD4: four scalar reads)
    return arr[r, c], arr[r, c + 1], arr[r, c + 2], arr[r, c + 3]


def _gload4_fallback(arr, i):  # pragma: no cover  (the simulator's G4)
    return arr[i], arr[i + 1], arr[i + 2], arr[i + 3]


def _gstore4_fallback(arr, i, v0, v1, v2, v3):  # pragma: no cover  (the simulator's S4)
    arr[i], arr[i + 1], arr[i + 2], arr[i + 3] = v0, v1, v2, v3


def _vector_intrinsics() -> tuple:
    """(LD4, G4, S4): 128-bit accesses of four float32 values, 16-byte aligned, which numba does not
    emit for four scalar ones. LD4(arr, r, c): arr[r, c:c+4] of a 2-D shared tile
    (ld.shared.v4.f32); G4(arr, i): arr[i:i+4] (ld.global.v4.f32); S4(arr, i, v0..v3): stores them."""
    from llvmlite import ir
    from numba.cuda import cgutils, types
    from numba.cuda.extending import intrinsic

    f4 = ir.VectorType(ir.FloatType(), 4)

    def pointer(context, builder, sig, args, nidx):
        aty = sig.args[0]
        ary = context.make_array(aty)(context, builder, args[0])
        idx = [context.cast(builder, v, t, types.intp) for v, t in zip(args[1:1 + nidx], sig.args[1:1 + nidx])]
        ptr = cgutils.get_item_pointer(context, builder, aty, ary, idx)
        return builder.bitcast(ptr, f4.as_pointer(ptr.type.addrspace))

    def float32_array(arr: Any, ndim: int) -> bool:
        return isinstance(arr, types.Array) and arr.dtype == types.float32 and arr.ndim == ndim

    def load(nidx: int) -> Any:
        def codegen(context, builder, sig, args):
            vec = builder.load(pointer(context, builder, sig, args, nidx), align=16)
            vals = [builder.extract_element(vec, ir.Constant(ir.IntType(32), i)) for i in range(4)]
            return context.make_tuple(builder, sig.return_type, vals)
        return codegen

    @intrinsic
    def ld4(typingctx, arr, r, c):
        if float32_array(arr, 2):
            return types.UniTuple(types.float32, 4)(arr, r, c), load(2)

    @intrinsic
    def g4(typingctx, arr, i):
        if float32_array(arr, 1):
            return types.UniTuple(types.float32, 4)(arr, i), load(1)

    @intrinsic
    def s4(typingctx, arr, i, v0, v1, v2, v3):
        if not float32_array(arr, 1):
            return None
        sig = types.none(arr, i, types.float32, types.float32, types.float32, types.float32)

        def codegen(context, builder, sig, args):
            vec = ir.Constant(f4, ir.Undefined)
            for k, v in enumerate(args[2:]):
                vec = builder.insert_element(vec, v, ir.Constant(ir.IntType(32), k))
            builder.store(vec, pointer(context, builder, sig, args, 1), align=16)
            return context.get_dummy_value()

        return sig, codegen

    return ld4, g4, s4


_VEC: dict = {}


def vector_ops() -> dict:
    """LD4 / G4 / S4 for generated kernels: the intrinsics on a GPU, scalar device functions
    reading the same elements under the simulator."""
    if not _VEC:
        if SIMULATOR:
            _VEC.update(LD4=cuda.jit(device=True)(_load4_fallback), G4=cuda.jit(device=True)(_gload4_fallback),
                        S4=cuda.jit(device=True)(_gstore4_fallback))
        else:
            _VEC.update(zip(("LD4", "G4", "S4"), _vector_intrinsics()))
    return _VEC

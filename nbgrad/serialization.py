"""ng.save / ng.load: checkpoints in the safetensors format.

The tensors of the saved object are stored under dotted names (a state dict's own keys; a nested
dict's keys joined by "."; list items by position), so `safetensors.torch.load_file` reads an
nbgrad checkpoint as a flat dict of torch tensors. Everything else (the nesting, numbers,
strings, tuples, an optimizer's param_groups) goes in the header's metadata as JSON under the key
"nbgrad", from which ng.load rebuilds the object. A file without it (safetensors.torch.save_file,
say) loads as a flat {name: tensor} dict."""

from __future__ import annotations

import io
import json
import os
from typing import Any, BinaryIO, Mapping

import numpy as np

from . import _dtype as D
from ._device import device as _device
from .creation import from_numpy
from .nn.module import Parameter
from .tensor import Tensor

# safetensors' dtype names and the NumPy dtypes nbgrad holds
_DTYPES = {"BOOL": np.bool_, "U8": np.uint8, "I8": np.int8, "I16": np.int16, "I32": np.int32, "I64": np.int64,
           "F32": np.float32, "F64": np.float64}
_SCALARS = (bool, int, float, str, type(None))


def _describe(f: Any) -> str:
    return os.fspath(f) if isinstance(f, (str, os.PathLike)) else getattr(f, "name", None) or type(f).__name__


def _encode(x: Any, path: list[str], tensors: dict[str, np.ndarray]) -> Any:
    """x as JSON, with each tensor replaced by {"__tensor__": its name} and stored in tensors."""
    if isinstance(x, Tensor):
        key = ".".join(path)
        if key in tensors:
            raise ValueError(f"ng.save: two tensors would be stored under the same name '{key}'")
        tensors[key] = np.ascontiguousarray(x.detach().cpu().numpy())
        out: dict[str, Any] = {"__tensor__": key}
        if x.requires_grad:
            out["requires_grad"] = True
        if isinstance(x, Parameter):
            out["parameter"] = True
        return out
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, _SCALARS):
        return x
    if isinstance(x, D.dtype):
        return {"__dtype__": x.name}
    if isinstance(x, _device):
        return {"__device__": str(x)}
    if isinstance(x, Mapping):
        if all(isinstance(k, str) and not k.startswith("__") for k in x):
            return {k: _encode(v, [*path, k], tensors) for k, v in x.items()}
        for k in x:
            if not isinstance(k, _SCALARS):
                raise TypeError(f"ng.save: a dict key must be a string or a number, got {type(k).__name__} "
                                f"(at '{'.'.join(path)}')")
        return {"__dict__": [[k, _encode(v, [*path, str(k)], tensors)] for k, v in x.items()]}
    if isinstance(x, (list, tuple)):
        items = [_encode(v, [*path, str(i)], tensors) for i, v in enumerate(x)]
        return items if isinstance(x, list) else {"__tuple__": items}
    raise TypeError(f"ng.save: cannot store a {type(x).__name__} (at '{'.'.join(path)}'): a checkpoint holds tensors, "
                    "numbers, strings, None, dtypes, devices and dicts, lists and tuples of them")


def _decode(x: Any, tensors: dict[str, Tensor]) -> Any:
    if isinstance(x, list):
        return [_decode(v, tensors) for v in x]
    if not isinstance(x, dict):
        return x
    if "__tensor__" in x:
        t = tensors[x["__tensor__"]]
        if x.get("parameter"):
            return Parameter(t, requires_grad=bool(x.get("requires_grad")))
        return t.requires_grad_() if x.get("requires_grad") else t
    if "__tuple__" in x:
        return tuple(_decode(v, tensors) for v in x["__tuple__"])
    if "__dict__" in x:
        return {k: _decode(v, tensors) for k, v in x["__dict__"]}
    if "__dtype__" in x:
        return D.as_dtype(x["__dtype__"])
    if "__device__" in x:
        return _device(x["__device__"])
    return {k: _decode(v, tensors) for k, v in x.items()}


def save(obj: Any, f: str | os.PathLike | BinaryIO) -> None:
    """Write obj (a tensor, a state dict, an optimizer's state dict, or dicts / lists / tuples of
    tensors and plain values) to f, a path or a binary file object, as safetensors."""
    from safetensors.numpy import save as st_save

    tensors: dict[str, np.ndarray] = {}
    skeleton = _encode(obj, [], tensors)
    data = st_save(tensors, metadata={"format": "pt", "nbgrad": json.dumps(skeleton)})
    if isinstance(f, (str, os.PathLike)):
        with open(f, "wb") as fh:
            fh.write(data)
    else:
        f.write(data)


def _header(data: bytes, name: str) -> dict:
    if len(data) < 8:
        raise ValueError("shorter than a safetensors header")
    n = int.from_bytes(data[:8], "little")
    if n > len(data) - 8:
        raise ValueError(f"the header says {n} bytes, the file has {len(data) - 8} after the length")
    header = json.loads(data[8:8 + n])
    if not isinstance(header, dict):
        raise ValueError("the header is not a JSON object")
    for k, v in header.items():
        if k != "__metadata__" and (not isinstance(v, dict) or v.get("dtype") not in _DTYPES):
            dt = v.get("dtype") if isinstance(v, dict) else v
            raise RuntimeError(f"ng.load: tensor '{k}' in {name} has dtype {dt}, which nbgrad has no dtype for "
                               f"(it holds {', '.join(_DTYPES)})")
    return header


def load(f: str | os.PathLike | BinaryIO, map_location: Any = None, *, weights_only: bool = True,
         mmap: bool | None = None) -> Any:
    """Read a checkpoint written by ng.save (or any safetensors file: a flat {name: tensor} dict).
    map_location: the device to put the tensors on (default: the CPU). weights_only and mmap are
    accepted for PyTorch's signature (a safetensors file holds no code; it is read into memory)."""
    from safetensors import SafetensorError
    from safetensors.numpy import load as st_load

    name = _describe(f)
    if isinstance(f, (str, os.PathLike)):
        with open(f, "rb") as fh:
            data = fh.read()
    else:
        data = f.read() if not isinstance(f, (bytes, bytearray, io.BytesIO)) else \
            (f.getvalue() if isinstance(f, io.BytesIO) else bytes(f))
    try:
        header = _header(data, name)
        arrays = st_load(data)
    except (ValueError, SafetensorError, UnicodeDecodeError) as e:
        raise RuntimeError(f"ng.load: {name} is not a safetensors checkpoint, or it is truncated ({e})") from None
    if map_location is not None and not isinstance(map_location, (str, _device)):
        raise TypeError(f"ng.load: map_location must be a device or a device name, got {type(map_location).__name__}")
    dev = "cpu" if map_location is None else str(map_location)
    tensors = {k: from_numpy(np.array(arrays[k])).to(dev) for k in header if k != "__metadata__"}
    meta = header.get("__metadata__") or {}
    if "nbgrad" not in meta:
        return tensors
    try:
        skeleton = json.loads(meta["nbgrad"])
        return _decode(skeleton, tensors)
    except (ValueError, KeyError, TypeError) as e:
        raise RuntimeError(f"ng.load: the nbgrad metadata of {name} is damaged ({e})") from None

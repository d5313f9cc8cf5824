"""Grad mode: no_grad, enable_grad, set_grad_enabled (context managers and decorators)."""

from __future__ import annotations

import functools
import inspect
import threading
from typing import Any, Callable

class _State(threading.local):
    enabled = True  # the default in every thread (a class attribute: no getattr default needed)


_state = _State()


def is_grad_enabled() -> bool:
    return _state.enabled


def _set(flag: bool) -> None:
    _state.enabled = flag


class _GradMode:
    _flag: bool

    def __enter__(self) -> None:
        self._prev = is_grad_enabled()
        _set(self._flag)

    def __exit__(self, *exc: Any) -> None:
        _set(self._prev)

    def __call__(self, fn: Callable) -> Callable:
        flag = self._flag
        if isinstance(self, set_grad_enabled):
            _set(self._prev)  # used as a decorator: undo the immediate switch

        if inspect.isgeneratorfunction(fn):
            @functools.wraps(fn)
            def gen_wrapper(*args: Any, **kwargs: Any) -> Any:
                # the mode holds while the generator runs, not between its yields (PyTorch's rule)
                prev = is_grad_enabled()
                _set(flag)
                try:
                    gen = fn(*args, **kwargs)
                finally:
                    _set(prev)
                sent = None
                while True:
                    prev = is_grad_enabled()
                    _set(flag)
                    try:
                        value = gen.send(sent)
                    except StopIteration as e:
                        return e.value
                    finally:
                        _set(prev)
                    sent = yield value

            return gen_wrapper

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            prev = is_grad_enabled()
            _set(flag)
            try:
                return fn(*args, **kwargs)
            finally:
                _set(prev)

        return wrapper


class _NoParamGradMode(_GradMode):
    def __new__(cls, orig_func: Callable | None = None) -> Any:
        if orig_func is None:
            return super().__new__(cls)
        return cls()(orig_func)  # used as a bare decorator: @no_grad

    def __init__(self, orig_func: Callable | None = None) -> None:
        pass


class no_grad(_NoParamGradMode):  # noqa: N801
    _flag = False


class enable_grad(_NoParamGradMode):  # noqa: N801
    _flag = True


class set_grad_enabled(_GradMode):  # noqa: N801
    def __init__(self, mode: bool) -> None:
        self._prev = is_grad_enabled()
        self._flag = bool(mode)
        _set(self._flag)  # takes effect immediately, as in PyTorch

    def __enter__(self) -> None:
        _set(self._flag)

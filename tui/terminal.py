"""Where the debugger draws: the terminal, even when the script's stdout (or stdin, or
stderr) is redirected, through /dev/tty; or nowhere, with a clear message."""

from __future__ import annotations

import os
import sys
from typing import Any


class NoTerminal(RuntimeError):
    pass


_tty: tuple[Any, int] | None = None  # (text file to draw on, fd to read keys from), opened once


def _streams_are_a_terminal() -> bool:
    return all(s is not None and s.isatty() for s in (sys.__stdin__, sys.__stdout__, sys.__stderr__))


def driver_class() -> Any:
    """None when stdin, stdout and stderr are the terminal (Textual's own driver does); else a
    driver on /dev/tty. Raises NoTerminal when there is no terminal to draw on."""
    global _tty
    if _streams_are_a_terminal():
        return None
    if _tty is None:
        try:
            fd = os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY)
        except OSError as e:
            raise NoTerminal(
                "stdout (or stdin / stderr) is not a terminal and /dev/tty cannot be opened "
                f"({e.strerror}): there is no terminal to draw the debugger on. Run it from a terminal, "
                "or write the graphs and step logs with --export DIR") from None
        _tty = (open(fd, "w", encoding="utf-8", errors="replace", closefd=False), fd)
    out, fd = _tty
    from textual.drivers.linux_driver import LinuxDriver

    class TtyDriver(LinuxDriver):
        """Textual's Linux driver, drawing on /dev/tty and reading keys and size from it."""

        def __init__(self, app: Any, **kw: Any) -> None:
            super().__init__(app, **kw)
            self._file = out
            self.fileno = fd
            self.input_tty = True

        def _get_terminal_size(self) -> tuple[int, int]:
            try:
                size = os.get_terminal_size(fd)
            except OSError:
                return super()._get_terminal_size()
            return size.columns, size.lines

    return TtyDriver

"""Where the debugger draws: the terminal, even when the script's stdout (or stdin, or
stderr) is redirected, through /dev/tty; or nowhere, with a clear message.

An MPI rank has no terminal of its own (MPICH's hydra starts each rank in a new session, on
pipes), but mpiexec, its ancestor, runs in the user's terminal: the debugging rank draws on
that. While mpiexec's stdin is the terminal, mpiexec reads every key and passes it to rank
0's stdin, so rank 0 reads its keys there (and another rank cannot get any: it asks for
`< /dev/null`); with mpiexec's stdin redirected, the rank reads the terminal itself."""

from __future__ import annotations

import os
import sys
from typing import Any


class NoTerminal(RuntimeError):
    pass


_tty: tuple[Any, int, int | None] | None = None  # (text file to draw on, its fd, fd to read keys from), opened once


def _streams_are_a_terminal() -> bool:
    return all(s is not None and s.isatty() for s in (sys.__stdin__, sys.__stdout__, sys.__stderr__))


def launcher_tty() -> tuple[str, bool] | None:
    """(the terminal, whether it is that process's stdin) of the nearest parent process that
    has a terminal on stdin, stdout or stderr (Linux /proc); None when there is none."""
    try:
        pid = os.getppid()
        for _ in range(64):
            if pid <= 1:
                return None
            links = []
            for n in (0, 1, 2):
                try:
                    links.append(os.readlink(f"/proc/{pid}/fd/{n}"))
                except OSError:
                    links.append("")
            ttys = [p for p in links if p.startswith(("/dev/pts/", "/dev/tty"))]
            if ttys:
                return ttys[0], links[0] == ttys[0]
            with open(f"/proc/{pid}/stat") as f:
                pid = int(f.read().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


def launcher_reads_keys() -> bool:
    """Whether this process's stdin is not a terminal while its launcher's is: mpiexec reads
    what is typed, and passes it on to rank 0's stdin."""
    found = launcher_tty()
    return found is not None and found[1] and not (sys.__stdin__ is not None and sys.__stdin__.isatty())


def keys_refused(mpi_rank: int) -> str:
    return (f"mpiexec reads the terminal and passes what you type to rank 0, so rank {mpi_rank} cannot get the "
            f"debugger's keys. Give mpiexec no stdin: mpiexec -n N nbgrad-tui run --rank {mpi_rank} SCRIPT.py "
            "< /dev/null (or use --export DIR)")


def _open_tty(mpi_rank: int | None) -> tuple[int, int | None]:
    """(fd to draw on, fd to read keys from: None for the same one)."""
    found = launcher_tty() if mpi_rank is not None else None
    if found is not None and launcher_reads_keys():
        if mpi_rank != 0:  # mpiexec takes every key (for rank 0): none would come here
            raise NoTerminal(keys_refused(mpi_rank or 0))
        try:
            return os.open(found[0], os.O_RDWR | os.O_NOCTTY), sys.__stdin__.fileno()
        except (OSError, AttributeError, ValueError):
            pass
    try:
        return os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY), None
    except OSError as e:
        if found is not None:
            try:
                return os.open(found[0], os.O_RDWR | os.O_NOCTTY), None
            except OSError:
                pass
        where = " nor the terminal of the mpiexec that started this rank found" if mpi_rank is not None else ""
        raise NoTerminal(
            f"stdout (or stdin / stderr) is not a terminal and /dev/tty cannot be opened{where} "
            f"({e.strerror}): there is no terminal to draw the debugger on. Run it from a terminal, "
            "or write the graphs and step logs with --export DIR") from None


def driver_class(mpi_rank: int | None = None) -> Any:
    """None when stdin, stdout and stderr are the terminal (Textual's own driver does); else a
    driver on /dev/tty, or (mpi_rank given: an MPI rank) on the terminal of the mpiexec that
    started it. Raises NoTerminal when there is no terminal to draw on."""
    global _tty
    if _streams_are_a_terminal():
        return None
    if _tty is None:
        fd, keys = _open_tty(mpi_rank)
        _tty = (open(fd, "w", encoding="utf-8", errors="replace", closefd=False), fd, keys)
    out, fd, keys = _tty
    from textual.drivers.linux_driver import LinuxDriver

    class TtyDriver(LinuxDriver):
        """Textual's Linux driver, drawing on /dev/tty and reading keys and size from it."""

        def __init__(self, app: Any, **kw: Any) -> None:
            super().__init__(app, **kw)
            self._file = out
            self.fileno = fd if keys is None else keys  # where Textual reads keys (and sets raw mode)
            self.input_tty = True
            self._tty_attrs: Any = None

        def start_application_mode(self) -> None:
            if keys is not None:  # keys come through a pipe: raw mode on the terminal itself
                import termios
                import tty

                try:
                    self._tty_attrs = termios.tcgetattr(fd)
                    new = termios.tcgetattr(fd)
                    new[tty.LFLAG] = self._patch_lflag(new[tty.LFLAG])
                    new[tty.IFLAG] = self._patch_iflag(new[tty.IFLAG])
                    new[tty.CC][termios.VMIN] = 1
                    termios.tcsetattr(fd, termios.TCSANOW, new)
                except termios.error:
                    self._tty_attrs = None
            super().start_application_mode()

        def stop_application_mode(self) -> None:
            super().stop_application_mode()
            if self._tty_attrs is not None:
                import termios

                try:
                    termios.tcsetattr(fd, termios.TCSANOW, self._tty_attrs)
                except termios.error:
                    pass
                self._tty_attrs = None

        def _get_terminal_size(self) -> tuple[int, int]:
            try:
                size = os.get_terminal_size(fd)
            except OSError:
                return super()._get_terminal_size()
            return size.columns, size.lines

    return TtyDriver

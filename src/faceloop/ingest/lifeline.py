"""Worker processes end with the process that started them.

A `kill -9` of `faceloop import` or `faceloop serve` runs no clean-up, so without this the
import's fork server and its workers lived on for minutes, holding the models in memory. On
Linux the kernel sends each child a signal when its parent dies (`PR_SET_PDEATHSIG`); elsewhere
a daemon thread notices the parent's pid change (not on Linux: the fork server forks its
workers, and a fork with a second thread running is best avoided). Fork clears the death
signal, so every process sets its own: the fork server when it loads its preload modules, each
worker in its initializer.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
import time

PR_SET_PDEATHSIG = 1
POLL_SECONDS = 1.0


def die_with_parent() -> None:
    """Exit when the parent process exits, however it ends."""
    parent = os.getppid()
    linux = sys.platform.startswith("linux")
    if linux:
        # the process's own symbols: find_library would start a subprocess to look for libc
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # the parent died before the signal was armed
        os._exit(1)
    if not linux:
        threading.Thread(target=_watch, args=(parent,), daemon=True, name="lifeline").start()


def _watch(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(POLL_SECONDS)
    os._exit(1)

"""Preloaded into the parse sandbox's forkserver only (see :mod:`ragprism.rag.sandbox`).

Runs the parent process's main script once, in the forkserver, as preloading
``"__main__"`` is meant to: a child forked from the forkserver then finds ``__main__``
in place and does not run the script again. CPython before 3.13.8 never does this itself
(gh-137996: the forkserver is not told the script's path), so every parse child re-ran
the server's console script — importing the whole server, about 2 s of CPU per document.
The path comes in ``RAGPRISM_SANDBOX_MAIN``, set by the sandbox module in the parent.
A script that fails here is left to the children to run, as before.

Only the forkserver imports this module (it is named in the preload list, never imported
by other code), and it acts only in a process whose ``__main__`` is not a script: the
forkserver's ``-c`` command. A process that inherited the variable never runs another
process's script.
"""

from __future__ import annotations

import os
import sys
from multiprocessing import process, spawn

MAIN_ENV = "RAGPRISM_SANDBOX_MAIN"  # the sandbox module's _MAIN_ENV


def _preload_main() -> None:
    path = os.environ.get(MAIN_ENV)
    if not path or getattr(sys.modules["__main__"], "__file__", None) is not None:
        return  # nothing to do, CPython's own preloading did it, or not the forkserver
    current = process.current_process()
    current._inheriting = True  # type: ignore[attr-defined]  # as CPython does around it
    try:
        spawn.import_main_path(path)
    except Exception:  # noqa: S110 - the children run the script themselves, as before
        pass
    finally:
        del current._inheriting  # type: ignore[attr-defined]


_preload_main()

"""Owner-only permissions for the data directory (database, spool, master key).

The directory holds the SQLite database (tenants' data), the trace spool (prompts and
answers on their way to Langfuse) and the master key: nobody but the server's user may
read them. New files get mode 0600 through the process umask the command line sets;
files left by older versions (0644 in a 0755 directory) are tightened at start.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

OWNER_ONLY_UMASK = 0o077


def restrict_new_files() -> None:
    """From now on, files this process creates are 0600 and directories 0700."""
    os.umask(OWNER_ONLY_UMASK)


def protect_data_dir(data_dir: Path) -> None:
    """Create ``data_dir`` with mode 0700 and take group/other access away from it and
    from what it holds (one level of subdirectories deep, as the spool lays it out)."""
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    _tighten(data_dir)
    for entry in data_dir.iterdir():
        _tighten(entry)
        if entry.is_dir() and not entry.is_symlink():
            for inner in entry.iterdir():
                _tighten(inner)


def _tighten(path: Path) -> None:
    if path.is_symlink():
        return
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        path.chmod(mode & 0o700)

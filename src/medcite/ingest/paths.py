"""Which files an ingest reads: files, folders and globs, each real file once.

Folders and ``**`` follow symbolic links (as Python's glob does), but a directory already
walked is never entered again, so a link back up the tree (``a/b/loop -> ..``) ends the walk
instead of looping until paths grow too long; and a file reached twice, by a second link or a
second spec, is read once, under the first path that reached it.
"""

from __future__ import annotations

import functools
import glob
import os
from collections.abc import Iterable, Iterator
from fnmatch import fnmatchcase
from pathlib import Path

from medcite.errors import IngestInputError


def expand_paths(specs: Iterable[str | Path]) -> dict[Path, bool]:
    """Files named directly or matched by globs (value True), or found under folders
    (recursively, hidden files left out; value False), in a stable order. A spec that matches
    nothing is an error, not a silent no-op."""
    found: dict[Path, bool] = {}
    first: dict[tuple[int, int], Path] = {}  # (device, inode) -> the path that reached it

    def take(path: Path, named: bool) -> None:
        try:
            st = path.stat()
        except OSError:  # a dangling link; a file named directly is checked by is_file first
            return
        identity = (st.st_dev, st.st_ino)
        if identity in first:
            if named:  # named on purpose after a folder reached it: not a README to skip
                found[first[identity]] = True
            return
        first[identity] = path
        found[path] = named

    for spec in specs:
        path = Path(spec)
        if path.is_file():
            take(path, True)
        elif path.is_dir():
            for child in sorted(_files_under(path)):
                if not child.name.startswith("."):
                    take(child, False)
        else:
            files = _glob(str(spec))
            if not files:
                raise IngestInputError(f"{spec}: no such file, folder or matching glob")
            for file in files:
                take(file, True)
    return found


def _files_under(root: Path) -> Iterator[Path]:
    """Every file below ``root``, following links into directories not walked before."""
    walked: set[tuple[int, int]] = set()
    for folder, subfolders, names in os.walk(root, followlinks=True):
        try:
            st = os.stat(folder)
        except OSError:
            subfolders[:] = []
            continue
        if (st.st_dev, st.st_ino) in walked:  # a loop, or a second way into the same folder
            subfolders[:] = []
            continue
        walked.add((st.st_dev, st.st_ino))
        subfolders.sort()
        for name in names:
            file = Path(folder, name)
            if file.is_file():
                yield file


def _glob(spec: str) -> list[Path]:
    """Files matching ``spec``, sorted. Without ``**`` this is glob.glob (it cannot loop);
    with it, the fixed folder the pattern starts from is walked once and each file's path
    below it matched part by part, with glob's rules: ``*`` stays within one name, ``**`` is
    any number of folders, and neither matches a hidden name unless the pattern spells the dot."""
    if "**" not in spec:
        return sorted(p for p in map(Path, glob.glob(spec)) if p.is_file())
    parts = Path(spec).parts
    fixed = next(i for i, part in enumerate(parts) if glob.has_magic(part))
    root = Path(*parts[:fixed]) if fixed else Path(".")
    pattern = tuple(parts[fixed:])
    if not root.is_dir():
        return []
    matched = []
    for file in _files_under(root):
        relative = file.relative_to(root).parts
        if _matches(relative, pattern):
            matched.append(file if fixed else Path(*relative))
    return sorted(matched)


def _matches(names: tuple[str, ...], pattern: tuple[str, ...]) -> bool:
    @functools.cache
    def match(i: int, j: int) -> bool:
        if j == len(pattern):
            return i == len(names)
        if pattern[j] == "**":
            # Zero folders, or one more (not a hidden one) and still inside the **.
            # A trailing ** also takes the file's own name ("dir/**" is every file below).
            last = j == len(pattern) - 1
            return match(i, j + 1) or (i < len(names) - (0 if last else 1)
                                       and not names[i].startswith(".") and match(i + 1, j))
        if i == len(names):
            return False
        name, part = names[i], pattern[j]
        if name.startswith(".") and not part.startswith("."):
            return False
        return fnmatchcase(name, part) and match(i + 1, j + 1)

    return match(0, 0)

"""Folders of files written and read back by the io tests."""

from __future__ import annotations

from pathlib import Path


def write_tree(root: Path, files: dict[str, bytes]) -> dict[str, bytes]:
    """Write ``{relative path: content}`` under ``root``; returns ``files``."""
    for relative, data in files.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_bytes(data)
    return files


def read_tree(root: Path) -> dict[str, bytes]:
    """``{relative path: content}`` of every file under ``root``."""
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}

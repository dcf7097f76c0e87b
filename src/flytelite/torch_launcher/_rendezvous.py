"""What a config and the launcher both need to know about the rendezvous: its backend and node counts."""

from __future__ import annotations

RDZV_BACKEND = "c10d"


def parse_nnodes(nnodes: int | str) -> tuple[int, int]:
    """``2`` -> ``(2, 2)``, ``"1:4"`` -> ``(1, 4)``; the same rules for the config and ``PET_NNODES``."""
    text = str(nnodes).strip() if isinstance(nnodes, (int, str)) and not isinstance(nnodes, bool) else ""
    parts = text.split(":")
    if len(parts) in (1, 2) and all(p.strip().isdigit() for p in parts):
        low, high = int(parts[0]), int(parts[-1])
        if 1 <= low <= high:
            return low, high
    raise ValueError(f"nnodes must be a positive node count or a 'min:max' range such as '1:4' (1 <= min <= max), not {nnodes!r}")

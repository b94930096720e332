"""Sub-commands of the replay group (filled in by their issue)."""

from __future__ import annotations

from typing import Any


def register(sub: Any) -> None:
    """Add this group's commands to the sub-command parser."""

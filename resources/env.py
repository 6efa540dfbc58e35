"""Read configuration from the environment as Dagster ``EnvVar``s, with project defaults.

``EnvVar`` keeps values (database passwords, DSNs) out of the UI and run metadata; a plain
default is used only when the variable is unset, so the project runs with no configuration.
"""

from __future__ import annotations

import os
from typing import Any

import dagster as dg


def env_or(name: str, default: Any) -> Any:
    """``EnvVar(name)`` when the variable is set (and not empty), otherwise ``default``."""
    return dg.EnvVar(name) if os.environ.get(name) else default


def env_flag(name: str, default: bool = False) -> bool:
    """A boolean switch from the environment (1/true/yes/on, case-insensitive)."""
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    return value.strip().lower() in ("1", "true", "yes", "on")


def env_int(name: str, default: int) -> Any:
    """``EnvVar.int(name)`` when set (resolved, and checked, by Dagster at run time)."""
    return dg.EnvVar.int(name) if os.environ.get(name) else default


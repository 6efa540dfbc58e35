"""Numbers from the environment, with a default and an error that names the variable."""

from __future__ import annotations

import os
from collections.abc import Mapping


def env_number(name: str, default: float, kind: type = float,
               env: Mapping[str, str] | None = None) -> float:
    """``kind(env[name])``, or ``default`` when unset or empty."""
    raw = (os.environ if env is None else env).get(name, "").strip()
    if not raw:
        return default
    try:
        return kind(raw)
    except ValueError:
        raise ValueError(f"{name} must be a number, not {raw!r}") from None

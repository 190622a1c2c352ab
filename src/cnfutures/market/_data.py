"""Loading of the bundled TOML reference data (read once, cached)."""

from __future__ import annotations

import functools
import tomllib
from importlib import resources
from typing import Any


@functools.cache
def load_toml(name: str) -> dict[str, Any]:
    """Return the parsed bundled file ``market/data/<name>``.

    Examples
    --------
    >>> "sc" in load_toml("products.toml")
    True
    """
    text = resources.files("cnfutures.market").joinpath("data", name).read_bytes()
    return tomllib.loads(text.decode("utf-8"))

"""Sweep grid files (TOML): the bundled example and the reader behind ``cnfutures sweep``.

A grid file holds [market] (a seeded simulated market), [exposure], [investor], [policy],
[costs], [sweep] and [grid] (lists of values to combine); see ``data/sweep_example.toml``.
"""

from __future__ import annotations

import dataclasses
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

from cnfutures.errors import InputError

__all__ = ["example_grid", "load_grid"]

_SECTIONS = ("market", "exposure", "investor", "policy", "costs", "sweep", "grid")
_MARKET_KEYS = ("product", "start", "end", "seed", "params")
_EXPOSURE_KEYS = ("quantity", "side", "price", "currency")
_INVESTOR_KEYS = ("route", "kind", "hedging_quota", "name")
_ROLL_KEYS = {"roll_kind": "kind", "roll_days": "days_before_ltd", "roll_before_stage": "before_stage",
              "roll_confirm_days": "confirm_days", "roll_months": "months"}  # fmt: skip
_SWEEP_KEYS = ("n_paths", "start", "end")


def example_grid() -> Path:
    """Path of the bundled example grid file.

    Examples
    --------
    >>> example_grid().name
    'sweep_example.toml'
    """
    return Path(str(resources.files("cnfutures").joinpath("data", "sweep_example.toml")))


def _only(section: str, table: Any, accepted: tuple[str, ...]) -> dict[str, Any]:
    if not isinstance(table, dict):
        raise InputError(f"[{section}] must be a table, got {table!r}")
    bad = [k for k in table if k not in accepted]
    if bad:
        raise InputError(f"[{section}] has unknown key(s) {bad}; accepted: {', '.join(accepted)}")
    return dict(table)


def load_grid(path: str | Path) -> tuple[Any, dict[str, Any], int | None]:
    """Read a grid file: the base :class:`~cnfutures.backtest.sweep.SweepSpec`, the grid and ``n_paths``.

    ``[grid.scenario.NAME]`` tables (market fields over ``[market]``) sweep named scenarios.

    Raises
    ------
    InputError
        A missing or malformed file, an unknown section or key, a bad value.

    Examples
    --------
    >>> spec, grid, n_paths = load_grid(example_grid())
    >>> sorted(grid), n_paths, spec.policy.product
    (['band', 'ratio', 'roll_days'], 2, 'sc')
    """
    from cnfutures.access import Investor
    from cnfutures.backtest import Costs, Exposure, HedgePolicy
    from cnfutures.backtest.sweep import SimulatedMarket, SweepSpec
    from cnfutures.frames.roll import RollRule
    from cnfutures.simulate import Params

    p = Path(path)
    try:
        doc = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise InputError(f"grid file {str(p)!r} not found") from exc
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"grid file {str(p)!r} is not valid TOML: {exc}") from exc
    bad = [k for k in doc if k not in _SECTIONS]
    if bad:
        raise InputError(f"grid file has unknown section(s) {bad}; accepted: {', '.join(_SECTIONS)}")
    if "grid" not in doc:
        raise InputError(
            "grid file has no [grid] section: list the values to sweep there, e.g. band = [0, 5]"
        )

    def recipe(table: dict[str, Any], where: str) -> SimulatedMarket:
        m = _only(where, table, _MARKET_KEYS)
        prm = m.pop("params", None)
        if prm is not None:
            fields = tuple(f.name for f in dataclasses.fields(Params))
            prm = Params(**_only(f"{where}.params", prm, fields))
        return SimulatedMarket(**m, params=prm)

    base_market = _only("market", doc.get("market", {}), _MARKET_KEYS)
    market = recipe(base_market, "market")
    e = _only("exposure", doc.get("exposure", {}), _EXPOSURE_KEYS)
    e.setdefault("quantity", 1_000_000.0)
    e.setdefault("price", market.price_name)
    e.setdefault("currency", "USD" if e["price"] == "brent" else "CNY")
    exposure = Exposure(**e)
    investor = Investor(**_only("investor", doc.get("investor", {"route": "osbp_client"}), _INVESTOR_KEYS))
    policy_fields = tuple(f.name for f in dataclasses.fields(HedgePolicy) if f.name != "roll")
    pol = _only("policy", doc.get("policy", {}), (*policy_fields, *_ROLL_KEYS))
    roll = {_ROLL_KEYS[k]: pol.pop(k) for k in list(pol) if k in _ROLL_KEYS}
    if "months" in roll:
        roll["months"] = tuple(roll["months"])
    pol.setdefault("product", market.product)
    policy = HedgePolicy(**pol, roll=RollRule(**roll))
    cost_fields = tuple(f.name for f in dataclasses.fields(Costs))
    costs = Costs(**_only("costs", doc["costs"], cost_fields)) if "costs" in doc else None
    sw = _only("sweep", doc.get("sweep", {}), _SWEEP_KEYS)
    spec = SweepSpec(market, exposure, policy, investor, costs, start=sw.get("start"), end=sw.get("end"))
    grid = doc["grid"]
    if not isinstance(grid, dict):
        raise InputError("[grid] must be a table of parameter = [values]")
    grid = dict(grid)
    if "scenario" in grid:
        scen = grid["scenario"]
        if not isinstance(scen, dict) or not all(isinstance(v, dict) for v in scen.values()):
            raise InputError("[grid.scenario.NAME] tables must hold market fields (product, start, end, ...)")
        grid["scenario"] = {
            name: recipe({**base_market, **fields}, f"grid.scenario.{name}") for name, fields in scen.items()
        }
    return spec, grid, sw.get("n_paths")

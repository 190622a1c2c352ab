"""The booking engine's :class:`Costs` for an access route (from :mod:`cnfutures.access.economics`).

Kept apart from :mod:`cnfutures.backtest.routes` so that the engine's hook imports only this.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from cnfutures._dates import DateLike
from cnfutures.access.economics import RouteEconomics, route_economics
from cnfutures.access.investor import Investor
from cnfutures.backtest.model import Costs
from cnfutures.errors import InputError

__all__ = ["costs_of", "route_costs"]


def costs_of(econ: RouteEconomics, base: Costs | None = None) -> Costs:
    """The booking engine's :class:`Costs` for a route's economics.

    ``commission`` = the route's per-lot items, ``fx_spread`` and ``broker_addon`` from the route,
    ``funding_rate`` = the base funding rate + ``custodian_fee``; the exchange fees, haircut (None:
    resolved by the engine from the route's collateral rule), margin buffer and release level are
    the base's (default :class:`Costs`).

    Examples
    --------
    >>> costs_of(route_economics("overseas_intermediary", "sc", "2025-06-03")).commission
    5.0
    """
    b = base if base is not None else Costs()
    if not isinstance(b, Costs):
        raise InputError(f"base={base!r} must be a cnfutures Costs")
    f = econ.cost_fields()
    return dataclasses.replace(
        b, commission=f["commission"], fx_spread=f["fx_spread"], broker_addon=f["broker_addon"],
        funding_rate=b.funding_rate + f["custodian_fee"],
    )  # fmt: skip


def route_costs(
    investor: Investor,
    product: str,
    on: DateLike,
    overrides: Mapping[str, Any] | None = None,
    base: Costs | None = None,
) -> Costs:
    """The :class:`Costs` of ``investor``'s route: what ``run`` books when given no ``costs``.

    Examples
    --------
    >>> c = route_costs(Investor("qfi"), "sc", "2025-06-03")
    >>> c.commission, c.fx_spread, round(c.funding_rate, 6)   # funding 0.05 + custodian 0.001
    (2.0, 0.0005, 0.051)
    """
    return costs_of(route_economics(investor, product, on, overrides), base)

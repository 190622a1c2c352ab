"""Investors and their access routes into China's commodity futures.

A foreign investor reaches the onshore market through one of five routes (fact sheet
§3.2, §3.4): as a client of a domestic futures-firm member, as a client of an overseas
intermediary, as a client of an overseas special brokerage participant (OSBP), as an
overseas special non-brokerage participant (OSNBP), or as a QFII/RQFII. The routes and the
exchanges where each exists are data (``access/data/routes.toml``).
"""

from __future__ import annotations

import functools
import tomllib
from dataclasses import dataclass
from enum import StrEnum
from importlib import resources
from typing import Any, Literal

from cnfutures.errors import InputError

__all__ = ["KINDS", "Investor", "Route", "load_access_toml"]

KINDS: tuple[str, ...] = ("institution", "individual")


@functools.cache
def load_access_toml(name: str) -> dict[str, Any]:
    """Return the parsed bundled file ``access/data/<name>`` (read once, cached).

    Examples
    --------
    >>> sorted(load_access_toml("routes.toml")["route"])[:2]
    ['ff_client', 'osbp_client']
    """
    text = resources.files("cnfutures.access").joinpath("data", name).read_bytes()
    return tomllib.loads(text.decode("utf-8"))


class Route(StrEnum):
    """An overseas investor's route into China's commodity futures.

    Examples
    --------
    >>> Route("qfi") is Route.QFI
    True
    >>> [r.value for r in Route]
    ['ff_client', 'overseas_intermediary', 'osbp_client', 'osnbp', 'qfi']
    """

    FF_CLIENT = "ff_client"  # client of a domestic futures-firm member
    OVERSEAS_INTERMEDIARY = "overseas_intermediary"  # client of an overseas intermediary
    OSBP_CLIENT = "osbp_client"  # client of an overseas special brokerage participant
    OSNBP = "osnbp"  # overseas special non-brokerage participant (proprietary)
    QFI = "qfi"  # QFII/RQFII

    @property
    def description(self) -> str:
        """English description of the route (from ``routes.toml``)."""
        return str(load_access_toml("routes.toml")["route"][self.value]["name"])

    @property
    def source(self) -> str:
        """Source of the route's definition."""
        return str(load_access_toml("routes.toml")["route"][self.value]["source"])


def parse_route(route: Route | str) -> Route:
    """Return ``route`` as a :class:`Route` (any case, ``-`` or ``_``).

    Raises
    ------
    InputError
        An unknown route; the message lists the accepted ones.

    Examples
    --------
    >>> parse_route("OSBP-client")
    <Route.OSBP_CLIENT: 'osbp_client'>
    """
    if isinstance(route, Route):
        return route
    if isinstance(route, str):
        key = route.strip().lower().replace("-", "_")
        if key in {"qfii", "rqfii"}:
            key = "qfi"
        try:
            return Route(key)
        except ValueError:
            pass
    raise InputError(f"unknown route {route!r}; accepted: {', '.join(r.value for r in Route)}")


@dataclass(frozen=True)
class Investor:
    """An overseas investor: its route, whether it is an institution or an individual.

    Parameters
    ----------
    route : Route or str
        Access route; text is validated (:class:`~cnfutures.errors.InputError` lists the
        routes).
    kind : {"institution", "individual"}
        Legal kind. QFIs and OSNBPs are institutions only.
    hedging_quota : int, optional
        Approved hedging quota [lots]; a hedging position within it is exempt from the
        speculative position limit (the exchanges' hedging rules).
    base_currency : str
        The investor's own currency (3-letter code), for FX reporting.
    name : str, optional
        Label.

    Examples
    --------
    >>> inv = Investor("qfi")
    >>> inv.route, inv.holder
    (<Route.QFI: 'qfi'>, 'client')
    >>> Investor("ff_client", kind="individual").holder
    'individual'
    """

    route: Route | str
    kind: Literal["institution", "individual"] = "institution"
    hedging_quota: int | None = None
    base_currency: str = "USD"
    name: str | None = None

    def __post_init__(self) -> None:
        route = parse_route(self.route)
        object.__setattr__(self, "route", route)
        if self.kind not in KINDS:
            raise InputError(f"kind={self.kind!r}; accepted: {', '.join(KINDS)}")
        kinds = load_access_toml("routes.toml")["route"][route.value]["kinds"]
        if self.kind not in kinds:
            raise InputError(
                f"route {route.value!r} is open to {' and '.join(kinds)}s only, not kind={self.kind!r}"
            )
        q = self.hedging_quota
        if q is not None and (isinstance(q, bool) or not isinstance(q, int) or q < 0):
            raise InputError(f"hedging_quota={q!r} must be a whole number of lots >= 0 or None")
        if not (isinstance(self.base_currency, str) and len(self.base_currency) == 3):
            raise InputError(f"base_currency={self.base_currency!r} must be a 3-letter code such as 'USD'")
        object.__setattr__(self, "base_currency", self.base_currency.upper())

    @property
    def route_(self) -> Route:
        """The route as a :class:`Route` (always validated)."""
        return parse_route(self.route)

    @property
    def holder(self) -> Literal["client", "individual"]:
        """Holder type for ``rules.position_limit``: ``"client"`` or ``"individual"``."""
        return "individual" if self.kind == "individual" else "client"

    def __str__(self) -> str:
        label = f"{self.name}: " if self.name else ""
        return f"{label}{self.route_.value} {self.kind}"

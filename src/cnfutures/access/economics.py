"""What a hedge costs through each access route: the route's economics as dated, sourced data.

The exchange's own fees and margins are the same on every route (route-economics §1, §2: the
exchanges apply one regime to domestic and overseas traders). What differs is who the client
pays on top (futures-firm commission, an overseas intermediary's mark-up, an OSBP's commission
and the clearing fee of the carrying member), which collateral it may post (USD at the
exchange haircut, or CNY bought with USD where USD is not allowed: the QFI), which FX channel
converts (the onshore depository bank, an offshore intermediary, the QFI custodian) and what
the route forbids (a QFI holds speculative trading codes only and may not deliver).

The rows live in ``access/data/route_costs.toml``: one row per route × item, scoped by exchange
and product (``"*"`` = any; the most specific row in force wins, then the latest
``effective``), each with its ``source``, ``verified`` flag and ``kind``: ``"regulatory"`` or
``"commercial"``. The booking engine's ``Costs`` for a route come from
:func:`cnfutures.backtest.routes.route_costs`. Commercial items (every commission, mark-up,
clearing fee and FX spread) have no legal value: the shipped numbers are documented defaults,
flagged ``verified = false``, and every one can be overridden (``overrides={"oi_markup": 1.5}``).

Items and units
---------------
``ff_commission``, ``oi_markup``, ``osbp_commission``, ``clearing_fee`` [CNY/lot], charged on
every lot traded; ``fx_spread`` [fraction] on each USD↔CNY conversion; ``custodian_fee``
[1/year] on the net USD sent (booked with the funding cost); ``broker_addon`` [fraction] of
contract value above the exchange margin rate.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import polars as pl

from cnfutures._dates import DateLike, parse_date
from cnfutures.access.collateral import haircut_rule, usd_collateral_allowed
from cnfutures.access.investor import Investor, Route, load_access_toml, parse_route
from cnfutures.errors import AccessDenied, InputError, RuleNotFound
from cnfutures.market._dated import in_force
from cnfutures.market.products import product as _product

__all__ = [
    "ITEMS",
    "LOT_ITEMS",
    "RouteEconomics",
    "RouteItem",
    "check_route_policy",
    "cnh_channel",
    "route_costs_markdown",
    "route_economics",
]

#: Every cost item and its unit.
ITEMS: dict[str, str] = {
    "ff_commission": "CNY/lot",
    "oi_markup": "CNY/lot",
    "osbp_commission": "CNY/lot",
    "clearing_fee": "CNY/lot",
    "fx_spread": "fraction",
    "custodian_fee": "1/year",
    "broker_addon": "fraction",
}
#: The items charged per lot traded (they add up to ``Costs.commission``).
LOT_ITEMS: tuple[str, ...] = ("ff_commission", "oi_markup", "osbp_commission", "clearing_fee")
# upper bounds that catch a value given in the wrong unit (bp or percent for a fraction)
_MAX = {"CNY/lot": 1000.0, "fraction": 0.05, "1/year": 0.05}
_MAX_ADDON = 0.5


@dataclass(frozen=True)
class RouteItem:
    """One cost item of a route in force on a date.

    Attributes
    ----------
    item : str
        One of :data:`ITEMS`.
    value : float
        In ``unit``.
    unit : str
        ``"CNY/lot"``, ``"fraction"`` or ``"1/year"``.
    kind : str
        ``"regulatory"`` or ``"commercial"`` (``"override"`` when the user gave the value).
    source : str
    verified : bool
    effective : datetime.date or None
        First day of the row (None for an override).
    """

    item: str
    value: float
    unit: str
    kind: str
    source: str
    verified: bool
    effective: dt.date | None


@dataclass(frozen=True)
class RouteEconomics:
    """A route's costs, collateral, FX channel and constraints for one product on one date.

    Attributes
    ----------
    route : Route
    product : str
    exchange : str
    on : datetime.date
    items : dict of str to RouteItem
        Every item of :data:`ITEMS` (an item the route does not charge has value 0 and the
        source ``"not charged on this route"``).
    usd_collateral : bool
        Whether the route may post USD as margin (else CNY bought with USD).
    haircut : float
        Factor at which posted USD counts [fraction]: the exchange's haircut, or 1.0 where the
        margin is CNY (bought at the fixing, counted in full).
    collateral_source : str
    collateral_verified : bool
    fx_channel, margin_held, commission_layers : str
        Who converts, where the margin sits, who is paid.
    hedge_code : bool
        Whether the route can hold a hedging trading code (a hedging quota has an effect).
    delivery : bool
        Whether the route may take part in delivery.
    facts_source : str
    facts_verified : bool
    call_deadline_days : int
        Trading days after a margin call (made at the day's settlement) by which it must be met
        (1 = before the next trading day's open, what the daily booking does).
    call_deadline_source : str
    call_deadline_verified : bool
    """

    route: Route
    product: str
    exchange: str
    on: dt.date
    items: dict[str, RouteItem]
    usd_collateral: bool
    haircut: float
    collateral_source: str
    collateral_verified: bool
    fx_channel: str
    margin_held: str
    commission_layers: str
    hedge_code: bool
    delivery: bool
    facts_source: str
    facts_verified: bool
    call_deadline_days: int
    call_deadline_source: str
    call_deadline_verified: bool

    def value(self, item: str) -> float:
        """The value of ``item`` in its unit (:data:`ITEMS`)."""
        if item not in ITEMS:
            raise InputError(f"unknown route cost item {item!r}; accepted: {', '.join(ITEMS)}")
        return self.items[item].value

    @property
    def commission_per_lot(self) -> float:
        """Everything the client pays per lot on top of the exchange fee [CNY/lot]."""
        return float(sum(self.items[i].value for i in LOT_ITEMS))

    @property
    def collateral(self) -> str:
        """The collateral the route posts, in words."""
        if self.usd_collateral:
            return f"USD at {self.haircut:g} of the CFETS parity"
        return "CNY bought with USD (no USD collateral)"

    @property
    def unverified(self) -> tuple[str, ...]:
        """The items and facts resting on no verified source."""
        out = [f"{i.item}: {i.source}" for i in self.items.values() if not i.verified and i.value != 0.0]
        if not self.collateral_verified:
            out.append(f"collateral: {self.collateral_source}")
        if not self.facts_verified:
            out.append(f"route facts: {self.facts_source}")
        if not self.call_deadline_verified:
            out.append(f"margin-call deadline: {self.call_deadline_source}")
        return tuple(out)

    def cost_fields(self) -> dict[str, float]:
        """What the booking engine's ``Costs`` takes from the route.

        ``commission`` = the sum of the per-lot items [CNY/lot], ``fx_spread`` and
        ``broker_addon`` [fraction], ``custodian_fee`` [1/year] (added to the funding rate by
        :func:`cnfutures.backtest.routes.route_costs`).

        Examples
        --------
        >>> route_economics("overseas_intermediary", "sc", "2025-06-03").cost_fields()["commission"]
        5.0
        """
        return {
            "commission": self.commission_per_lot,
            "fx_spread": self.value("fx_spread"),
            "broker_addon": self.value("broker_addon"),
            "custodian_fee": self.value("custodian_fee"),
        }

    def frame(self) -> pl.DataFrame:
        """The items as a table: ``item``, ``value``, ``unit``, ``kind``, ``verified``, ``source``."""
        return pl.DataFrame(
            [
                {
                    "item": i.item,
                    "value": i.value,
                    "unit": i.unit,
                    "kind": i.kind,
                    "verified": i.verified,
                    "source": i.source,
                }
                for i in self.items.values()
            ],
            schema={
                "item": pl.String, "value": pl.Float64, "unit": pl.String, "kind": pl.String,
                "verified": pl.Boolean, "source": pl.String,
            },
        )  # fmt: skip


def _parse_override(item: str, raw: Any) -> float:
    """An override in the item's unit: a number, or text ``"<number> <unit>"`` (``bp`` for rates)."""
    unit = ITEMS[item]
    if isinstance(raw, bool):
        raise InputError(f"overrides[{item!r}]={raw!r}; give a number in {unit}")
    if isinstance(raw, int | float):
        v = float(raw)
    elif isinstance(raw, str):
        m = re.fullmatch(r"\s*([-+0-9.eE]+)\s*(\S*)\s*", raw)
        if not m:
            raise InputError(f"overrides[{item!r}]={raw!r}; give a number in {unit}, e.g. '2 {unit}'")
        try:
            v = float(m.group(1))
        except ValueError:
            raise InputError(f"overrides[{item!r}]={raw!r}; {m.group(1)!r} is not a number") from None
        u = m.group(2)
        if u == "bp" and unit in {"fraction", "1/year"}:
            v /= 1e4
        elif u not in {"", unit}:
            raise InputError(
                f"overrides[{item!r}]={raw!r} is in {u!r}; {item} is in {unit}"
                + (" (or bp)" if unit != "CNY/lot" else "")
            )
    else:
        raise InputError(f"overrides[{item!r}]={raw!r}; give a number in {unit}, got {type(raw).__name__}")
    hi = _MAX_ADDON if item == "broker_addon" else _MAX[unit]
    if not (math.isfinite(v) and 0.0 <= v <= hi):
        hint = " (a fraction: 0.0005 = 5 bp; or write '5 bp')" if unit != "CNY/lot" else ""
        raise InputError(f"overrides[{item!r}]={raw!r}; accepted: {unit} in [0, {hi:g}]{hint}")
    return v


def _rank(product_code: str, exchange: str) -> Callable[[Mapping[str, Any]], int]:
    """Specificity of a row: a product-specific row beats an exchange row beats ``"*"``."""

    def rank(r: Mapping[str, Any]) -> int:
        return (2 if r["product"] == product_code else 0) + (1 if r["exchange"] == exchange else 0)

    return rank


def _matcher(item: str, product_code: str, exchange: str) -> Callable[[Mapping[str, Any]], bool]:
    def match(r: Mapping[str, Any]) -> bool:
        return bool(
            r["item"] == item and r["product"] in {"*", product_code} and r["exchange"] in {"*", exchange}
        )

    return match


def route_economics(
    route: Investor | Route | str,
    product: str,
    on: DateLike,
    overrides: Mapping[str, Any] | None = None,
) -> RouteEconomics:
    """The economics of ``route`` for ``product`` in force on ``on``.

    Parameters
    ----------
    route : Investor, Route or str
        The access route (or an investor, whose route is used).
    product : str
        Product code (``"sc"``, ``"i"``, ``"nr"``, ``"ru"``).
    on : date or str
        Date of the rows.
    overrides : mapping item -> value, optional
        User values for any item of :data:`ITEMS`, in the item's unit (a number, or text such
        as ``"2.5 CNY/lot"`` or ``"8 bp"``); they replace the shipped default and are
        reported as ``kind = "override"``.

    Raises
    ------
    AccessDenied
        The route does not exist at the product's exchange on ``on`` (an OSBP at DCE); the
        message gives the rule and its source.
    InputError
        An unknown item, or an override in the wrong unit or out of range (the message names
        the item and its unit).
    RuleNotFound
        A route with no cost row in force on ``on`` (before the route existed in the data).

    Examples
    --------
    >>> e = route_economics("osbp_client", "sc", "2025-06-03")
    >>> e.commission_per_lot, e.value("fx_spread"), e.usd_collateral
    (4.0, 0.001, True)
    >>> q = route_economics("qfi", "sc", "2025-06-03", overrides={"fx_spread": "3 bp"})
    >>> q.value("fx_spread"), q.haircut, q.hedge_code
    (0.0003, 1.0, False)
    """
    from cnfutures.access.eligibility import route_at_exchange

    r = route.route_ if isinstance(route, Investor) else parse_route(route)
    p = _product(product)
    d = parse_date(on, "on")
    recorded = any(
        r.value in a["routes"]
        for a in load_access_toml("routes.toml")["availability"]
        if a["exchange"] == p.exchange
    )  # routes.toml records the exchanges' participant routes (a-d); the QFI's access is its product list
    where = route_at_exchange(r, p.exchange, d)
    if recorded and not where.ok:  # a route the exchange does not have (an OSBP at DCE): no economics there
        flag = "" if where.verified else " [UNVERIFIED]"
        raise AccessDenied(
            f"route={r.value!r} for {p.code} on {d}: {where.text} "
            f"(rule {where.rule}, source: {where.source}){flag}"
        )
    ovr = dict(overrides or {})
    bad = sorted(set(ovr) - set(ITEMS))
    if bad:
        raise InputError(f"overrides has unknown item(s) {bad}; accepted: {', '.join(ITEMS)}")
    data = load_access_toml("route_costs.toml")
    rows = [x for x in data["cost"] if x["route"] == r.value]
    ex = p.exchange
    items: dict[str, RouteItem] = {}
    for item, unit in ITEMS.items():
        if item in ovr:
            items[item] = RouteItem(item, _parse_override(item, ovr[item]), unit, "override", "user override",
                                    True, None)  # fmt: skip
            continue
        row = in_force(rows, d, where=_matcher(item, p.code, ex), rank=_rank(p.code, ex))
        if row is None:
            if any(x["item"] == item for x in rows):
                first = min(x["effective"] for x in rows if x["item"] == item)
                raise RuleNotFound(
                    f"no {item} row for route {r.value} at {ex} on {d}; the first is in force from {first} "
                    "(access/data/route_costs.toml); pass overrides={...} to supply one"
                )
            items[item] = RouteItem(item, 0.0, unit, "n/a", "not charged on this route", True, None)
            continue
        if row["unit"] != unit:  # a data error: the table and the code disagree
            raise InputError(f"route_costs.toml: {r.value} {item} is in {row['unit']!r}, expected {unit!r}")
        items[item] = RouteItem(item, float(row["value"]), unit, str(row["kind"]), str(row["source"]),
                                bool(row["verified"]), row["effective"])  # fmt: skip
    facts = data["route"][r.value]
    call = data["margin_call"][r.value]
    inv = Investor(r)
    allowed, c_source, c_ok = usd_collateral_allowed(inv)
    if allowed:
        h = haircut_rule(ex, d)  # RuleNotFound before the exchange accepted USD
        haircut, c_source, c_ok = h.value, f"{c_source}; haircut: {h.source}", c_ok and h.verified
    else:
        haircut = 1.0
    return RouteEconomics(
        route=r, product=p.code, exchange=ex, on=d, items=items, usd_collateral=allowed, haircut=haircut,
        collateral_source=c_source, collateral_verified=c_ok, fx_channel=str(facts["fx_channel"]),
        margin_held=str(facts["margin_held"]), commission_layers=str(facts["commission_layers"]),
        hedge_code=bool(facts["hedge_code"]), delivery=bool(facts["delivery"]),
        facts_source=str(facts["source"]), facts_verified=bool(facts["verified"]),
        call_deadline_days=int(call["deadline_days"]), call_deadline_source=str(call["source"]),
        call_deadline_verified=bool(call["verified"]),
    )  # fmt: skip


def check_route_policy(investor: Investor, product: str, on: DateLike) -> None:
    """Refuse, before a run, what the route cannot do: a hedging quota on a speculative-only route.

    Raises
    ------
    AccessDenied
        ``investor.hedging_quota`` is set but the route holds speculative trading codes only
        (QFI); the message gives the rule and its source.

    Examples
    --------
    >>> inv = Investor("qfi", hedging_quota=100)
    >>> check_route_policy(inv, "sc", "2025-06-03")  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    ...
    cnfutures.errors.AccessDenied: qfi institution may not use hedging_quota=100 ...
    """
    if investor.hedging_quota is None:
        return
    e = route_economics(investor, product, on)
    if not e.hedge_code:
        flag = "" if e.facts_verified else " [UNVERIFIED]"
        raise AccessDenied(
            f"{investor.route_.value} {investor.kind} may not use hedging_quota={investor.hedging_quota} "
            f"on {e.product}: the route holds speculative trading codes only, so no hedging margin or "
            f"hedging position limit applies (source: {e.facts_source}){flag}; drop the quota to book "
            "the hedge as speculative"
        )


def route_costs_markdown() -> str:
    """The route-cost rows and route facts as Markdown tables, with sources and flags.

    Examples
    --------
    >>> "| oi_markup |" in route_costs_markdown()
    True
    """
    data = load_access_toml("route_costs.toml")
    notes: dict[str, int] = {}

    def ref(source: str) -> str:
        notes.setdefault(source, len(notes) + 1)
        return f"[{notes[source]}]"

    lines = [
        "| route | item | value | unit | scope | from | kind | verified | source |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in sorted(
        data["cost"], key=lambda x: (list(Route).index(Route(x["route"])), list(ITEMS).index(x["item"]))
    ):
        scope = f"{r['exchange']}/{r['product']}"
        lines.append(
            f"| {r['route']} | {r['item']} | {r['value']:g} | {r['unit']} | {scope} | {r['effective']} | "
            f"{r['kind']} | {'yes' if r['verified'] else 'no'} | {ref(r['source'])} |"
        )
    lines += [
        "",
        "| route | commission layers | collateral | FX channel | margin held | hedging code | delivery | "
        "verified | source |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for route in Route:
        f = data["route"][route.value]
        allowed, c_source, _ = usd_collateral_allowed(Investor(route))
        coll = "USD at the exchange haircut" if allowed else "CNY bought with USD"
        yn = {k: "yes" if f[k] else "no" for k in ("hedge_code", "delivery", "verified")}
        lines.append(
            f"| {route.value} | {f['commission_layers']} | {coll} {ref(c_source)} | {f['fx_channel']} | "
            f"{f['margin_held']} | {yn['hedge_code']} | {yn['delivery']} | {yn['verified']} | "
            f"{ref(f['source'])} |"
        )
    lines += [
        "",
        "| route | margin-call deadline [trading days] | verified | source |",
        "|---|---|---|---|",
    ]
    for route in Route:
        mc = data["margin_call"][route.value]
        lines.append(
            f"| {route.value} | {mc['deadline_days']} | {'yes' if mc['verified'] else 'no'} | "
            f"{ref(mc['source'])} |"
        )
    cnh = data["cnh_channel"]
    lines += [
        "",
        f"Offshore CNH channel (converts at a USD/CNH series when one is given): {', '.join(cnh['routes'])} "
        f"(verified: {'yes' if cnh['verified'] else 'no'}) {ref(cnh['source'])}",
    ]
    lines += ["", "Sources:", ""]
    lines += [f"{n}. {s}" for s, n in notes.items()]
    return "\n".join(lines) + "\n"


def cnh_channel(route: Investor | Route | str) -> tuple[bool, str, bool]:
    """Whether the route's FX channel converts offshore in CNH: (offshore, source, verified).

    Examples
    --------
    >>> cnh_channel("overseas_intermediary")[0], cnh_channel("ff_client")[0]
    (True, False)
    """
    r = route.route_ if isinstance(route, Investor) else parse_route(route)
    c = load_access_toml("route_costs.toml")["cnh_channel"]
    return r.value in c["routes"], str(c["source"]), bool(c["verified"])

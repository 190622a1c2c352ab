"""Which route should I use? One hedge booked through every access route, side by side.

:func:`compare_routes` books the same exposure and policy through each route with that route's
economics (:mod:`cnfutures.access.economics`): commission layers, FX spread of its channel,
custodian fee, collateral currency and haircut, and its constraints. Routes the investor
cannot use (the product is not open to them, the route does not exist at the exchange, the
investor's kind is excluded) are listed with the reason and its source instead of numbers.

Cost components in the table [USD], each traceable to a row of ``access/data/route_costs.toml``:

* ``<item>_usd`` for each per-lot item (``ff_commission``, ``oi_markup``, ``osbp_commission``,
  ``clearing_fee``): ``Σ_days lots traded × value [CNY/lot] / usd_cny`` — exactly the part of
  the ledger's ``fees_cny`` that the item adds;
* ``exchange_fees_usd``: the rest of the ledger's fees (the exchange's dated fee rows, the
  same on every route);
* ``fx_spread_usd``: the ledger's FX conversion cost on CNY shortfalls and cash released
  (the channel's spread), i.e. the ledger's ``fx_cost_usd`` less ``fx_collateral_usd``;
* ``fx_collateral_usd``: for a route that may not post USD (QFI) the margin is bought in CNY
  and sold back: ``fx_spread × (Σ USD posted as margin + Σ margin released)``, booked day by
  day by the kernel (``DaySchedule.collateral_fx``) inside the ledger's ``fx_cost_usd``; the
  margin still held at the end is not sold back, as no route's account is liquidated;
* ``custodian_usd`` and ``funding_usd``: the ledger's funding cost split in proportion to the
  custodian fee and the base funding rate;
* ``slippage_usd``: inside the hedge P&L (the same on every route).
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from cnfutures._dates import DateLike
from cnfutures.access.economics import LOT_ITEMS, RouteEconomics, route_economics
from cnfutures.access.eligibility import first_allowed
from cnfutures.access.investor import Investor, Route, parse_route
from cnfutures.access.summary import tax_treatment
from cnfutures.backtest.costs import costs_of, route_costs
from cnfutures.backtest.model import Costs, Exposure, HedgePolicy, Market
from cnfutures.errors import AccessDenied, InputError
from cnfutures.market.rules import RuleBook

__all__ = [
    "COMPARISON_COLUMNS",
    "RouteComparison",
    "compare_routes",
    "compare_routes_risk",
    "comparison_text",
    "costs_of",
    "format_comparison",
    "route_costs",
    "routes_section",
]

#: Columns of :attr:`RouteComparison.table` and their units.
COMPARISON_COLUMNS: tuple[tuple[str, pl.DataType | type[pl.DataType], str], ...] = (
    ("route", pl.String, "access route"),
    ("eligible", pl.Boolean, "the hedge could be booked through the route"),
    ("eligible_from", pl.Date, "first day the route may trade the product (data)"),
    ("reason", pl.String, "why not, with the rule's source (ineligible routes)"),
    ("exchange_fees_usd", pl.Float64, "USD"),
    ("ff_commission_usd", pl.Float64, "USD"),
    ("oi_markup_usd", pl.Float64, "USD"),
    ("osbp_commission_usd", pl.Float64, "USD"),
    ("clearing_fee_usd", pl.Float64, "USD"),
    ("fx_spread_usd", pl.Float64, "USD (booked: CNY shortfalls and cash released converted)"),
    ("fx_collateral_usd", pl.Float64, "USD (booked: CNY margin bought and sold back)"),
    ("funding_usd", pl.Float64, "USD (base funding rate)"),
    ("custodian_usd", pl.Float64, "USD"),
    ("slippage_usd", pl.Float64, "USD (inside the hedge P&L)"),
    ("total_cost_usd", pl.Float64, "USD (all of the above)"),
    ("lots_traded", pl.Float64, "lots (opening, closing and rolling)"),
    ("peak_usd_posted", pl.Float64, "USD"),
    ("margin_calls", pl.Float64, "count"),
    ("call_deadline_days", pl.Int64, "trading days to meet a margin call (route data)"),
    ("effectiveness_daily", pl.Float64, "variance reduction of daily USD P&L"),
    ("effectiveness_weekly", pl.Float64, "variance reduction of weekly USD P&L"),
    ("net_pnl_usd", pl.Float64, "USD"),
    ("collateral", pl.String, "what the route posts"),
    ("fx_channel", pl.String, "who converts USD and CNY"),
    ("constraints", pl.String, "what the route forbids or what bit"),
    ("tax", pl.String, "tax treatment of trading income in force (access/data/tax.toml)"),
    ("verified", pl.Boolean, "every item used rests on a verified source"),
    ("unverified", pl.String, "items resting on commercial defaults or unverified facts"),
)


@dataclass(frozen=True)
class RouteComparison:
    """The same hedge through each route.

    Attributes
    ----------
    table : polars.DataFrame
        One row per route (:data:`COMPARISON_COLUMNS`).
    results : dict of str to BacktestResult
        The backtest of every eligible route (keyed by route value).
    economics : dict of str to RouteEconomics
        The route economics used (keyed by route value).
    """

    table: pl.DataFrame
    results: dict[str, Any]
    economics: dict[str, RouteEconomics]

    def cheapest(self) -> str | None:
        """The eligible route with the lowest ``total_cost_usd`` (None if none is eligible)."""
        ok = self.table.filter(pl.col("eligible")).sort("total_cost_usd")
        return str(ok["route"][0]) if ok.height else None

    def report(self, path: str | Path, *, overwrite: bool = False) -> Path:
        """Write the routes side by side as a self-contained HTML page (offline, no network).

        The page holds :func:`routes_section` (the generated reading and the table) and two
        interactive charts over the eligible routes: cumulative costs [USD] and net USD posted
        [USD], one line per route, from each route's ledger.

        Parameters
        ----------
        path : str or Path
            A directory (the page is ``index.html`` in it) or an ``.html`` file.
        overwrite : bool
            Replace a file that is not a cnfutures report.

        Returns
        -------
        Path
            The page written.

        Examples
        --------
        >>> import tempfile
        >>> m = Market.sample("sc", "2025-03-03", "2025-06-06")
        >>> cmp = compare_routes(m, Exposure(500_000, "short", "brent"), HedgePolicy("sc"),
        ...                      routes=["osnbp", "qfi"])
        >>> page = cmp.report(tempfile.mkdtemp())
        >>> "Access routes side by side" in page.read_text(encoding="utf-8")
        True
        """
        from cnfutures.backtest.report import Chart, Section, Series, write_page

        ok = [r for r in self.table.filter(pl.col("eligible"))["route"].to_list() if r in self.results]
        charts = []
        if ok:
            days = self.results[ok[0]].ledger["trading_day"]
            for title, col, cum, scale, unit in (
                ("Cumulative costs by route", "costs_usd", True, 1e3, "thousand USD"),
                ("Net USD posted by route", "usd_posted", False, 1e6, "million USD"),
            ):
                lines = []
                for r in ok:
                    v = self.results[r].ledger[col]
                    lines.append(Series(r, (v.cum_sum() if cum else v) / scale, unit=unit))
                charts.append(Chart(title, days, tuple(lines), ylabel=unit))
        first = next(iter(self.results.values()), None)
        simulated = bool(getattr(first, "simulated", False))
        intro = [str(getattr(first, "label", ""))] if first is not None else []
        return write_page(
            path, "routes", "Which route? The same hedge through each access route",
            [Section("Access routes side by side", routes_section(self, heading=False), tuple(charts))],
            intro=intro, simulated=simulated, overwrite=overwrite,
        )  # fmt: skip


def _components(res: Any, econ: RouteEconomics, costs: Costs, slippage_usd: float) -> dict[str, float]:
    led = res.ledger
    lots = (led["trade_lots"].abs() + led["roll_lots"].abs()).to_numpy()
    fx = led["usd_cny"].to_numpy()
    out: dict[str, float] = {}
    fees_usd = float(np.sum(led["fees_cny"].to_numpy() / fx))
    layered = 0.0
    for item in LOT_ITEMS:
        v = float(np.sum(lots * econ.value(item) / fx))
        out[f"{item}_usd"] = v
        layered += v
    out["exchange_fees_usd"] = fees_usd - layered
    fx_booked = float(led["fx_cost_usd"].sum())
    if econ.usd_collateral:
        out["fx_collateral_usd"] = 0.0
    else:
        # the kernel books fx_spread on each USD posted into CNY margin and on the collateral
        # released; the CNY collateral (the ledger values it at each day's fixing) changes by
        # + call - released, bought and sold at the fixing (a CNY-margin route has no CNH
        # channel: route_costs.toml [cnh_channel])
        calls = led["margin_call_usd"].to_numpy()
        coll = led["collateral_usd"].to_numpy() * fx  # CNY
        released = (np.concatenate([[0.0], coll[:-1]]) + calls * fx - coll) / fx
        out["fx_collateral_usd"] = costs.fx_spread * float(calls.sum() + released.sum())
    out["fx_spread_usd"] = fx_booked - out["fx_collateral_usd"]
    funding = float(led["funding_usd"].sum())
    cust = econ.value("custodian_fee")
    share = cust / costs.funding_rate if costs.funding_rate > 0 else 0.0
    out["custodian_usd"] = funding * share
    out["funding_usd"] = funding - out["custodian_usd"]
    out["slippage_usd"] = slippage_usd
    out["total_cost_usd"] = fees_usd + fx_booked + funding + out["slippage_usd"]
    out["lots_traded"] = float(lots.sum())
    return out


def _empty_row(route: Route) -> dict[str, Any]:
    row: dict[str, Any] = {c: None for c, _, _ in COMPARISON_COLUMNS}
    row["route"] = route.value
    row["eligible"] = False
    return row


def compare_routes(
    market: Market,
    exposure: Exposure,
    policy: HedgePolicy,
    *,
    kind: str = "institution",
    hedging_quota: int | None = None,
    routes: Sequence[Route | str] | None = None,
    overrides: Mapping[str, Mapping[str, Any]] | None = None,
    base_costs: Costs | None = None,
    start: DateLike | None = None,
    end: DateLike | None = None,
    book: RuleBook | None = None,
    usd_cnh: pl.DataFrame | None = None,
) -> RouteComparison:
    """Book one hedge through every access route and compare cost, USD posted and effectiveness.

    Parameters
    ----------
    market, exposure, policy
        As for :func:`cnfutures.backtest.run`.
    kind : {"institution", "individual"}
        The investor's legal kind (some routes are open to institutions only).
    hedging_quota : int, optional
        Approved hedging quota [lots]. Applied on routes that can hold a hedging code; on a
        speculative-only route (QFI) the hedge is booked without it and the row says so.
    routes : sequence of Route or str, optional
        The routes to compare (default: all five).
    overrides : mapping route -> (mapping item -> value), optional
        Commercial inputs per route (:data:`cnfutures.access.economics.ITEMS`), e.g.
        ``{"overseas_intermediary": {"oi_markup": 1.5}}``; a key ``"*"`` applies to every route
        (a route's own key wins).
    base_costs : Costs, optional
        Funding rate, exchange-fee switch, margin buffer and release level shared by every
        route (default :class:`Costs`); the commission, FX spread, add-on and custodian fee
        come from each route's economics.
    start, end : date or str, optional
        First and last trading day.
    book : RuleBook, optional
        Market rules (default bundled).
    usd_cnh : polars.DataFrame, optional
        ``date``, ``usd_cnh`` [CNY per USD]: routes with an offshore CNH channel convert at it
        (see :func:`cnfutures.backtest.run`); the others at the fixing.

    Returns
    -------
    RouteComparison

    Raises
    ------
    InputError
        An unknown route, kind or override item, or an override in the wrong unit.
    AccessDenied
        No route can book the hedge (the message gives each route's reason and source).

    Examples
    --------
    >>> m = Market.sample("sc", "2025-03-03", "2025-06-06")
    >>> cmp = compare_routes(m, Exposure(500_000, "short", "brent"), HedgePolicy("sc"))
    >>> cmp.table.select("route", "eligible").rows()[:2]
    [('ff_client', True), ('overseas_intermediary', True)]
    """
    from cnfutures.backtest.engine import book as book_inputs
    from cnfutures.backtest.engine import prepare_market
    from cnfutures.backtest.result import BacktestResult

    if kind not in ("institution", "individual"):
        raise InputError(f"kind={kind!r}; accepted: institution, individual")
    chosen = [parse_route(r) for r in routes] if routes is not None else list(Route)
    if not chosen:
        raise InputError("routes is empty; give at least one route")
    ovr_all: dict[str, Mapping[str, Any]] = {}
    for key, val in (overrides or {}).items():
        k = "*" if key == "*" else parse_route(key).value
        if not isinstance(val, Mapping):
            raise InputError(f"overrides[{key!r}] must be a mapping item -> value, got {type(val).__name__}")
        ovr_all[k] = val
    base = base_costs if base_costs is not None else Costs()
    if not isinstance(base, Costs):
        raise InputError(f"base_costs={base_costs!r} must be a cnfutures Costs")
    rows: list[dict[str, Any]] = []
    results: dict[str, Any] = {}
    econs: dict[str, RouteEconomics] = {}
    # prepare once (market frames, day axis, held cells, rule arrays), book each route
    shared = prepare_market(
        market, exposure, policy, kind=kind, start=start, end=end, book=book, usd_cnh=usd_cnh
    )
    day0 = shared.days[0]
    for r in chosen:
        row = _empty_row(r)
        first, _, _ = first_allowed(r, policy.product)
        row["eligible_from"] = first
        try:
            inv0 = Investor(r, kind=kind)  # type: ignore[arg-type]
        except InputError as e:
            row["reason"] = str(e)
            rows.append(row)
            continue
        ovr = {**ovr_all.get("*", {}), **ovr_all.get(r.value, {})}
        try:
            econ = route_economics(r, policy.product, day0, ovr)
        except AccessDenied as e:  # the route does not exist at the exchange
            row["reason"] = str(e)
            rows.append(row)
            continue
        constraints: list[str] = []
        quota = hedging_quota
        if quota is not None and not econ.hedge_code:
            flag = "" if econ.facts_verified else " [UNVERIFIED]"
            constraints.append(f"hedging quota NOT applied: speculative trading codes only{flag}")
            quota = None
        if not econ.delivery:
            constraints.append("no delivery: the roll exits before the last trading day")
        inv = Investor(r, kind=inv0.kind, hedging_quota=quota)
        costs = costs_of(econ, base)
        try:
            prep = shared.for_route(inv, costs)
        except AccessDenied as e:
            row["reason"] = str(e)
            rows.append(row)
            continue
        led, summ = book_inputs(prep.inputs)
        res = BacktestResult.from_arrays(prep, led, summ, market=market, policy=policy, investor=inv)
        metric = dict(zip(res.summary["metric"].to_list(), res.summary["value"].to_list(), strict=True))
        comp = _components(res, econ, costs, metric["slippage_usd"])
        row.update(comp)
        row["eligible"] = True
        for m in ("peak_usd_posted", "margin_calls", "effectiveness_daily", "effectiveness_weekly",
                  "net_pnl_usd"):  # fmt: skip
            row[m] = metric[m]
        for m, what in (("limit_bound_days", "position/opening limit cut the target"),
                        ("limit_locked_days", "limit-locked"), ("forced_rolls", "forced roll")):  # fmt: skip
            if metric[m] > 0:
                constraints.append(f"{what}: {metric[m]:g}")
        row["call_deadline_days"] = econ.call_deadline_days
        row["collateral"] = econ.collateral
        row["fx_channel"] = econ.fx_channel
        row["constraints"] = "; ".join(constraints)
        tax_text, _, tax_ok = tax_treatment(inv, day0)
        row["tax"] = tax_text + ("" if tax_ok else " [UNVERIFIED]")
        unv = [u.split(":", 1)[0] for u in econ.unverified] + ([] if tax_ok else ["tax"])
        row["verified"] = not unv
        row["unverified"] = ", ".join(unv)
        rows.append(row)
        results[r.value] = res
        econs[r.value] = econ
    if not results:
        raise AccessDenied(
            f"no route can book this {policy.product} hedge for a {kind}: "
            + "; ".join(f"{r['route']}: {r['reason']}" for r in rows)
        )
    schema = {c: t for c, t, _ in COMPARISON_COLUMNS}
    table = pl.DataFrame(rows, schema=schema)
    return RouteComparison(table, results, econs)


def compare_routes_risk(
    exposure: Exposure,
    policy: HedgePolicy,
    *,
    start: DateLike,
    n_days: int | None = None,
    end: DateLike | None = None,
    n_paths: int = 200,
    seed: int = 20260101,
    kind: str = "institution",
    hedging_quota: int | None = None,
    routes: Sequence[Route | str] | None = None,
    overrides: Mapping[str, Mapping[str, Any]] | None = None,
    base_costs: Costs | None = None,
    **risk_kwargs: Any,
) -> pl.DataFrame:
    """The distribution of cost and USD posted per route over simulated paths.

    Books the hedge through each route with :func:`cnfutures.backtest.risk.hedge_risk` (the same seeded paths
    for every route, so the differences are the routes', not the paths') and summarises each
    route's per-path ``costs_usd`` (fees, commission layers, FX spread, funding and custodian fee
    as booked by the kernel, including the FX on a QFI's CNY margin) and
    ``peak_usd_posted``.

    Returns
    -------
    polars.DataFrame
        ``route``, ``eligible``, ``reason``, ``cost_p05_usd``, ``cost_p50_usd``,
        ``cost_p95_usd``, ``peak_usd_p50``, ``peak_usd_p95``, ``effectiveness_p50``,
        ``constraints``.

    Examples
    --------
    >>> t = compare_routes_risk(Exposure(200_000, "short", "benchmark"), HedgePolicy("sc"),
    ...                         start="2025-01-02", n_days=30, n_paths=8, routes=["osnbp", "qfi"])
    >>> t["route"].to_list(), t["eligible"].to_list()
    (['osnbp', 'qfi'], [True, True])
    """
    from cnfutures._dates import parse_date
    from cnfutures.backtest.risk import hedge_risk

    if kind not in ("institution", "individual"):
        raise InputError(f"kind={kind!r}; accepted: institution, individual")
    chosen = [parse_route(r) for r in routes] if routes is not None else list(Route)
    ovr_all = {("*" if k == "*" else parse_route(k).value): v for k, v in (overrides or {}).items()}
    base = base_costs if base_costs is not None else Costs()
    day0 = parse_date(start, "start")
    out: list[dict[str, Any]] = []
    for r in chosen:
        row: dict[str, Any] = {"route": r.value, "eligible": False, "reason": None, "constraints": ""}
        try:
            Investor(r, kind=kind)  # type: ignore[arg-type]
        except InputError as e:
            out.append({**row, "reason": str(e)})
            continue
        ovr = {**ovr_all.get("*", {}), **ovr_all.get(r.value, {})}
        try:
            econ = route_economics(r, policy.product, day0, ovr)
        except AccessDenied as e:  # the route does not exist at the exchange
            out.append({**row, "reason": str(e)})
            continue
        quota = hedging_quota if econ.hedge_code else None
        skipped = quota != hedging_quota
        notes = ["hedging quota NOT applied: speculative trading codes only"] if skipped else []
        inv = Investor(r, kind=kind, hedging_quota=quota)  # type: ignore[arg-type]
        try:
            hr = hedge_risk(exposure, policy, inv, costs_of(econ, base), start=start, n_days=n_days, end=end,
                            n_paths=n_paths, seed=seed, fan=False, **risk_kwargs)  # fmt: skip
        except AccessDenied as e:
            out.append({**row, "reason": str(e)})
            continue
        p = hr.paths
        row.update(
            eligible=True,
            cost_p05_usd=float(p["costs_usd"].quantile(0.05) or 0.0),
            cost_p50_usd=float(p["costs_usd"].quantile(0.5) or 0.0),
            cost_p95_usd=float(p["costs_usd"].quantile(0.95) or 0.0),
            peak_usd_p50=float(p["peak_usd_posted"].quantile(0.5) or 0.0),
            peak_usd_p95=float(p["peak_usd_posted"].quantile(0.95) or 0.0),
            effectiveness_p50=float(p["effectiveness_daily"].quantile(0.5) or 0.0),
            constraints="; ".join(notes),
        )
        out.append(row)
    schema = {
        "route": pl.String, "eligible": pl.Boolean, "reason": pl.String, "cost_p05_usd": pl.Float64,
        "cost_p50_usd": pl.Float64, "cost_p95_usd": pl.Float64, "peak_usd_p50": pl.Float64,
        "peak_usd_p95": pl.Float64, "effectiveness_p50": pl.Float64, "constraints": pl.String,
    }  # fmt: skip
    return pl.DataFrame(out, schema=schema)


def format_comparison(cmp: RouteComparison) -> str:
    """The comparison as an aligned text table (costs in USD), with the ineligible routes and why."""
    t = cmp.table
    cols = [
        ("route", "route"), ("exchange_fees_usd", "exch fees"), ("ff_commission_usd", "FF comm"),
        ("oi_markup_usd", "OI mkup"), ("osbp_commission_usd", "OSBP comm"), ("clearing_fee_usd", "clearing"),
        ("fx_spread_usd", "FX spread"), ("fx_collateral_usd", "FX collat"), ("funding_usd", "funding"),
        ("custodian_usd", "custody"), ("slippage_usd", "slippage"), ("total_cost_usd", "TOTAL"),
        ("peak_usd_posted", "peak USD"), ("effectiveness_daily", "eff d"),
    ]  # fmt: skip
    ok = t.filter(pl.col("eligible"))
    lines = []
    if ok.height:
        cells = [[h for _, h in cols]]
        for rec in ok.iter_rows(named=True):
            line = []
            for c, _ in cols:
                v = rec[c]
                if isinstance(v, float):
                    line.append(f"{v:.3f}" if c.startswith("effectiveness") else f"{v:,.0f}")
                else:
                    line.append(str(v))
            cells.append(line)
        w = [max(len(row[i]) for row in cells) for i in range(len(cols))]
        for row in cells:
            lines.append("  ".join(s.ljust(w[0]) if i == 0 else s.rjust(w[i]) for i, s in enumerate(row)))
        lines.append("")
        for rec in ok.iter_rows(named=True):
            lines.append(f"{rec['route']}: collateral {rec['collateral']}; FX {rec['fx_channel']}")
            if rec["constraints"]:
                lines.append(f"    constraints: {rec['constraints']}")
            lines.append(f"    tax: {rec['tax']}")
            if rec["unverified"]:
                lines.append(f"    unverified / commercial defaults: {rec['unverified']}")
    for rec in t.filter(~pl.col("eligible")).iter_rows(named=True):
        lines.append(f"{rec['route']}: NOT ELIGIBLE: {rec['reason']}")
    return "\n".join(lines)


# the cost components of the table: column, words
_COMPONENTS: tuple[tuple[str, str], ...] = (
    ("exchange_fees_usd", "exchange fees"), ("ff_commission_usd", "FF commission"),
    ("oi_markup_usd", "OI mark-up"), ("osbp_commission_usd", "OSBP commission"),
    ("clearing_fee_usd", "clearing fee"), ("fx_spread_usd", "FX spread"),
    ("fx_collateral_usd", "FX on CNY margin"), ("funding_usd", "funding"), ("custodian_usd", "custodian fee"),
    ("slippage_usd", "slippage"),
)  # fmt: skip


def _drivers(cheap: Mapping[str, Any], dear: Mapping[str, Any]) -> list[tuple[str, float]]:
    """The cost components by how much the dearer route pays more (or less), largest first."""
    gaps = [(words, float(dear[c] or 0.0) - float(cheap[c] or 0.0)) for c, words in _COMPONENTS]
    return sorted((g for g in gaps if abs(g[1]) >= 0.5), key=lambda g: -abs(g[1]))


def comparison_text(cmp: RouteComparison) -> list[str]:
    """Plain sentences reading the comparison: cheapest and dearest route, what drives the gap.

    The cheapest eligible route and its total cost, the dearest and the gap with the cost
    components driving it (largest first, at most three), the range of peak USD posted, the
    constraints that bit, the commercial defaults or unverified facts used, and every route that
    is not open with its reason.

    Examples
    --------
    >>> m = Market.sample("sc", "2025-03-03", "2025-06-06")
    >>> cmp = compare_routes(m, Exposure(500_000, "short", "brent"), HedgePolicy("sc"),
    ...                      routes=["osnbp", "qfi"])
    >>> comparison_text(cmp)[0].startswith("Cheapest eligible route: osnbp, total cost USD ")
    True
    """
    t = cmp.table
    ok = t.filter(pl.col("eligible")).sort("total_cost_usd")
    text: list[str] = []
    if ok.height:
        recs = list(ok.iter_rows(named=True))
        cheap, dear = recs[0], recs[-1]
        text.append(
            f"Cheapest eligible route: {cheap['route']}, total cost USD {cheap['total_cost_usd']:,.0f}."
        )
        if len(recs) > 1:
            gap = dear["total_cost_usd"] - cheap["total_cost_usd"]
            top = _drivers(cheap, dear)[:3]
            more = [f"{w} (+USD {v:,.0f})" for w, v in top if v > 0]
            less = [f"{w} (-USD {-v:,.0f})" for w, v in top if v < 0]
            why = " and ".join(
                x
                for x in (
                    f"more for {', '.join(more)}" if more else "",
                    f"less for {', '.join(less)}" if less else "",
                )
                if x
            )
            text.append(
                f"Dearest: {dear['route']}, USD {dear['total_cost_usd']:,.0f} (+USD {gap:,.0f})"
                + (f"; it pays {why}." if why else ".")
            )
            lo = min(recs, key=lambda r: r["peak_usd_posted"])
            hi = max(recs, key=lambda r: r["peak_usd_posted"])
            text.append(
                f"Peak USD posted ranges from USD {lo['peak_usd_posted']:,.0f} ({lo['route']}) to USD "
                f"{hi['peak_usd_posted']:,.0f} ({hi['route']})."
            )
        for rec in recs:
            if rec["constraints"]:
                text.append(f"{rec['route']}: {rec['constraints']}.")
        unv = sorted({u.strip() for r in recs for u in (r["unverified"] or "").split(",") if u.strip()})
        if unv:
            text.append(
                "Commercial defaults or unverified facts used (replace them with your own): "
                f"{', '.join(unv)}."
            )
    for rec in t.filter(~pl.col("eligible")).iter_rows(named=True):
        text.append(f"{rec['route']}: not eligible: {rec['reason']}")
    return text


def routes_section(cmp: RouteComparison, *, heading: bool = True) -> str:
    """The comparison as an HTML report section: the sentences of :func:`comparison_text` and the table.

    Every value is escaped.

    Parameters
    ----------
    cmp : RouteComparison
        From :func:`compare_routes`.
    heading : bool
        Start with the ``<h2>`` heading (False where the page's section supplies it).

    Returns
    -------
    str
        One ``<section class="routes">`` element (no page around it).

    Examples
    --------
    >>> m = Market.sample("sc", "2025-03-03", "2025-06-06")
    >>> cmp = compare_routes(m, Exposure(500_000, "short", "brent"), HedgePolicy("sc"),
    ...                      routes=["osnbp", "qfi"])
    >>> sec = routes_section(cmp)
    >>> sec.startswith('<section class="routes">'), "Cheapest eligible route: osnbp" in sec
    (True, True)
    """
    esc = html.escape
    ok = cmp.table.filter(pl.col("eligible")).sort("total_cost_usd")
    text = [esc(x) for x in comparison_text(cmp)]
    cols = [("route", "route"), *_COMPONENTS, ("total_cost_usd", "total cost"),
            ("peak_usd_posted", "peak USD posted"), ("margin_calls", "margin calls"),
            ("effectiveness_daily", "effectiveness (daily)"),
            ("effectiveness_weekly", "effectiveness (weekly)"),
            ("collateral", "collateral"), ("fx_channel", "FX channel")]  # fmt: skip
    head = "".join(f"<th>{esc(h)}</th>" for _, h in cols)
    body = []
    for rec in ok.iter_rows(named=True):
        cells = []
        for c, _ in cols:
            v = rec[c]
            if isinstance(v, float):
                cells.append(f'<td class="num">{v:.3f}</td>' if c.startswith("effectiveness")
                             else f'<td class="num">{v:,.0f}</td>')  # fmt: skip
            else:
                cells.append(f"<td>{esc('' if v is None else str(v))}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    paras = "".join(f"<p>{x}</p>" for x in text)
    return (
        '<section class="routes">' + ("<h2>Access routes side by side</h2>" if heading else "")
        + f"{paras}<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
        "<p>Costs in USD over the backtest; slippage is inside the hedge P&amp;L and the same on every "
        "route. Commissions, mark-ups, clearing fees and spreads are commercial defaults "
        "(access/data/route_costs.toml).</p></section>"
    )

"""Access summary tables: what an investor can trade on a date, and which route can trade what since when."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

import polars as pl

from cnfutures._dates import DateLike, parse_date
from cnfutures._text import frame_text
from cnfutures.access.collateral import haircut_rule
from cnfutures.access.eligibility import contract_eligible, eligible, first_allowed, individual_exit_rule
from cnfutures.access.investor import Investor, Route, load_access_toml
from cnfutures.errors import InputError, RuleNotFound, UnknownProduct
from cnfutures.market import rules
from cnfutures.market._dated import in_force
from cnfutures.market.contracts import Contract, listed_contracts
from cnfutures.market.products import product, products
from cnfutures.validation import check_finite

__all__ = [
    "access_summary",
    "format_access_summary",
    "minimum_funds",
    "routes_markdown",
    "routes_since",
    "tax_treatment",
]

SUMMARY_COLUMNS = (
    "product",
    "exchange",
    "allowed",
    "route_constraints",
    "min_funds_cny",
    "contract",
    "margin_rate",
    "margin_usd_per_lot",
    "fee",
    "tax",
    "unverified",
)


def minimum_funds(investor: Investor, product_code: str, on: DateLike) -> tuple[float | None, str, bool]:
    """Account minimum [CNY] for trading-code application: (amount or None, source, verified).

    The most specific row in force wins (product and kind over exchange-wide rows).

    Examples
    --------
    >>> minimum_funds(Investor("ff_client"), "sc", "2025-06-03")[0]
    1000000.0
    >>> minimum_funds(Investor("ff_client", kind="individual"), "sc", "2025-06-03")[0]
    500000.0
    >>> minimum_funds(Investor("ff_client"), "nr", "2025-06-03")[0]
    100000.0
    """
    p = product(product_code)
    d = parse_date(on, "on")
    if investor.route_ is Route.QFI:
        return None, "UNVERIFIED: no QFI account minimum in the fact sheet", False
    best = in_force(
        load_access_toml("money.toml")["account_minimum"],
        d,
        where=lambda r: r["exchange"] == p.exchange
        and r["product"] in ("*", p.code)
        and r["kind"] in ("*", investor.kind),
        rank=lambda r: (r["product"] != "*", r["kind"] != "*"),
    )
    if best is None:
        return None, f"no account minimum for {p.code} at {p.exchange} in the data", True
    return float(best["amount_cny"]), str(best["source"]), bool(best["verified"])


def tax_treatment(investor: Investor, on: DateLike) -> tuple[str, tuple[str, ...], bool]:
    """Tax treatment in force: (text, sources, verified).

    Examples
    --------
    >>> for part in tax_treatment(Investor("ff_client"), "2025-06-03")[0].split("; "):
    ...     print(part)
    CIT exempt (provisional) on trading income of offshore institutions without a PE
    delivery income excluded
    VAT exempt on bonded delivery
    """
    d = parse_date(on, "on")
    data = load_access_toml("tax.toml")
    if investor.route_ is Route.QFI:
        q = data["qfi"]
        return str(q["text"]), (str(q["source"]),), bool(q["verified"])
    parts: list[str] = []
    srcs: list[str] = []
    ok = True
    for r in data["tax"]:
        if r["applies_to"] not in ("*", investor.kind) or r["effective"] > d:
            continue
        if r["until"] != "" and r["until"] < d:
            continue
        parts.append(str(r["text"]))
        srcs.append(str(r["source"]))
        ok = ok and bool(r["verified"])
    return ("; ".join(parts) or "no exemption in force in the data"), tuple(srcs), ok


def _reference_contract(investor: Investor, code: str, d: dt.date) -> Contract | None:
    for c in listed_contracts(code, d):
        if c.stage(d) == "general" and contract_eligible(investor, c.code, d).allowed:
            return c
    return None


def _fee_text(c: Contract, d: dt.date) -> str:
    f = rules.fee(c, d)
    if f.basis == "per_lot":
        return f"CNY {f.open:g}/lot (close-today {f.close_today:g})"
    return f"{f.open * 1e4:g}/10,000 of value (close-today {f.close_today * 1e4:g})"


def access_summary(
    investor: Investor,
    on: DateLike,
    *,
    prices: Mapping[str, float] | None = None,
    usd_cny: float | None = None,
    products_: Sequence[str] | None = None,
    broker_addon: float = 0.0,
) -> pl.DataFrame:
    """For an investor and a date: products × (allowed, constraints, minimum funds, margin, fee, tax).

    Parameters
    ----------
    investor : Investor
    on : date or str
        Trading day.
    prices : mapping product -> price, optional
        Price per product [CNY/unit] for the margin per lot.
    usd_cny : float, optional
        Central parity [CNY per USD]; with ``prices``, gives ``margin_usd_per_lot`` (margin
        divided by ``usd_cny × haircut``: the USD to post per lot).
    products_ : sequence of str, optional
        Products (default: all).
    broker_addon : float
        Futures firm's add-on to the margin rate [fraction].

    Returns
    -------
    polars.DataFrame
        Columns ``product``, ``exchange``, ``allowed``, ``route_constraints``,
        ``min_funds_cny`` [CNY], ``contract`` (reference contract: the nearest open one in the
        general stage), ``margin_rate`` [fraction], ``margin_usd_per_lot`` [USD] (null without
        a price and rate), ``fee``, ``tax``, ``unverified`` (count of unverified rules).

    Examples
    --------
    >>> t = access_summary(Investor("qfi"), "2025-06-20", prices={"ru": 14000.0}, usd_cny=7.18)
    >>> t.filter(pl.col("product") == "ru")["allowed"].item()
    True
    >>> # 14000 x 10 x 0.10 / (7.18 x 0.95)
    >>> round(t.filter(pl.col("product") == "ru")["margin_usd_per_lot"].item(), 2)
    2052.48
    """
    d = parse_date(on, "on")
    if usd_cny is not None:
        check_finite(usd_cny, "usd_cny", positive=True, allow_null=False, what="a rate [CNY per USD]")
    for code, px in (prices or {}).items():
        check_finite(px, f"prices[{code!r}]", positive=True, allow_null=False, what="a price [CNY/unit]")
    codes = list(products_) if products_ is not None else [p.code for p in products()]
    rows: list[dict[str, Any]] = []
    for code in codes:
        p = product(code)
        cal_ok = p.listed is None or d >= p.listed
        row: dict[str, Any] = dict.fromkeys(SUMMARY_COLUMNS)
        row.update(product=p.code, exchange=p.exchange)
        if not cal_ok:
            row.update(allowed=False, route_constraints=f"not listed until {p.listed}", unverified=0)
            rows.append(row)
            continue
        e = eligible(investor, p.code, d)
        n_unv = len(e.unverified)
        constraints = list(e.reasons) if not e.allowed else []
        if e.allowed:
            if e.first_contract:
                constraints.append(f"{e.first_contract} and later only")
            if any(f.rule == "qfi_no_delivery" for f in e.findings):
                constraints.append("no delivery, speculative codes only (UNVERIFIED)")
            exit_row = individual_exit_rule(p.code) if investor.kind == "individual" else None
            if exit_row is not None:
                if "ltd_offset" in exit_row:
                    n = 1 - int(exit_row["ltd_offset"])
                    nth = f"{n}{ {1: 'st', 2: 'nd', 3: 'rd'}.get(n if n < 20 else n % 10, 'th')}"
                    constraints.append(f"individuals flat by the close of the {nth} trading day before LTD")
                else:
                    constraints.append(f"individuals exit before stage {exit_row['stage']}")
                n_unv += 0 if exit_row["verified"] else 1
        amount, _, ok = minimum_funds(investor, p.code, d)
        n_unv += 0 if ok else 1
        tax, _, tax_ok = tax_treatment(investor, d)
        n_unv += 0 if tax_ok else 1
        row.update(allowed=e.allowed, route_constraints="; ".join(constraints), min_funds_cny=amount, tax=tax)
        c = _reference_contract(investor, p.code, d) if e.allowed else None
        if c is None:
            c = next((x for x in listed_contracts(p.code, d) if x.stage(d) == "general"), None)
        if c is not None:
            row["contract"] = c.code
            try:
                rv = rules.margin_rate(c, d)
                rate = rv.value + broker_addon
                row["margin_rate"] = rate
                n_unv += 0 if rv.verified else 1
                price = (prices or {}).get(p.code)
                if price is not None and usd_cny is not None:
                    h = haircut_rule(p.exchange, d)
                    row["margin_usd_per_lot"] = float(price) * c.multiplier * rate / (usd_cny * h.value)
                    n_unv += 0 if h.verified else 1
            except RuleNotFound:
                pass
            try:
                row["fee"] = _fee_text(c, d)
            except RuleNotFound:
                row["fee"] = "no fee in the data"
        row["unverified"] = n_unv
        rows.append(row)
    schema = {
        "product": pl.String,
        "exchange": pl.String,
        "allowed": pl.Boolean,
        "route_constraints": pl.String,
        "min_funds_cny": pl.Float64,
        "contract": pl.String,
        "margin_rate": pl.Float64,
        "margin_usd_per_lot": pl.Float64,
        "fee": pl.String,
        "tax": pl.String,
        "unverified": pl.Int64,
    }
    return pl.DataFrame(rows, schema=schema)


def format_access_summary(investor: Investor, on: DateLike, **kwargs: Any) -> str:
    """The access summary as printable text (a heading and the table).

    Examples
    --------
    >>> print(format_access_summary(Investor("osnbp"), "2025-06-03").splitlines()[0][:45])
    Access for osnbp institution on 2025-06-03 (U
    """
    df = access_summary(investor, on, **kwargs)
    d = parse_date(on, "on")
    try:
        h = f"{haircut_rule('INE', d).value:.0%}"
    except RuleNotFound:
        h = "n/a"
    head = (
        f"Access for {investor} on {d} (USD collateral at {h} of the CFETS central parity; settlement in CNY)"
    )
    return head + "\n" + frame_text(df, width=250, str_len=120)


def routes_since(product_codes: Sequence[str] | None = None) -> pl.DataFrame:
    """The first date each route may trade each product (null = never, in the data).

    Examples
    --------
    >>> t = routes_since(["sc", "i", "ru"])
    >>> t.filter(pl.col("product") == "i")["osnbp"].item() is None
    True
    >>> str(t.filter(pl.col("product") == "ru")["qfi"].item())
    '2025-06-20'
    """
    codes = list(product_codes) if product_codes is not None else _doc_products()
    rows: list[dict[str, Any]] = []
    for code in codes:
        row: dict[str, Any] = {"product": code}
        for r in Route:
            try:
                row[r.value] = first_allowed(r, code)[0]
            except UnknownProduct:
                row[r.value] = None
        rows.append(row)
    return pl.DataFrame(rows, schema={"product": pl.String, **{r.value: pl.Date for r in Route}})


def _doc_products() -> list[str]:
    return [p.code for p in products()]


def routes_markdown() -> str:
    """The "Which route can trade what, since when" table as Markdown, with sources and flags.

    Examples
    --------
    >>> "| sc |" in routes_markdown()
    True
    """
    codes = _doc_products()
    notes: dict[str, int] = {}
    lines = [
        "| product | exchange | " + " | ".join(r.value for r in Route) + " |",
        "|---|---|" + "---|" * len(Route),
    ]
    for code in codes:
        p = product(code)
        cells = []
        for r in Route:
            first, srcs, ok = first_allowed(r, code)
            if first is None:
                cells.append("—")
                continue
            refs = []
            for s in srcs:
                notes.setdefault(s, len(notes) + 1)
                refs.append(str(notes[s]))
            flag = " (unverified)" if not ok else ""
            cells.append(f"{first}{flag} [{','.join(refs)}]")
        lines.append(f"| {code} | {p.exchange} | " + " | ".join(cells) + " |")
    out = ["\n".join(lines), ""]
    rt = load_access_toml("routes.toml")
    extra = [
        f"- DCE and ZCE have no OSP category: OSBP clients and OSNBPs cannot trade there "
        f"({next(a['source'] for a in rt['availability'] if a['exchange'] == 'DCE' and not a['exists'])}).",
        "- `i`: overseas traders may trade only `i1809` and later contracts.",
        f"- QFI rule flagged UNVERIFIED: {rt['qfi']['no_delivery']['text']} "
        f"({rt['qfi']['no_delivery']['source']}).",
        "- A date is the first day the route may trade the product: the later of the product's "
        "opening (specified product or QFI list) and the route's existence at the exchange.",
    ]
    out += [*extra, "", "Sources:", ""]
    out += [f"{n}. {s}" for s, n in sorted(notes.items(), key=lambda kv: kv[1])]
    return "\n".join(out) + "\n"


def _validate_products(codes: Sequence[str]) -> None:
    for c in codes:
        try:
            product(c)
        except UnknownProduct:
            raise InputError(
                f"unknown product {c!r}; known: {', '.join(p.code for p in products())}"
            ) from None

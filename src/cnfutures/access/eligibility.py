"""Who may trade what, since when: eligibility of an investor for a product or contract.

Rules (all dated data in ``access/data/*.toml``, each with its source and ``verified`` flag):

* specified-product routes (FF client, overseas intermediary, OSBP client, OSNBP): the
  product must be a CSRC specified product on that date, and the route must exist at the
  product's exchange (DCE and ZCE have no OSP category; SHFE's OSP rules date from
  2025-08-07);
* QFI: commodity futures from 2021-11-01, and only products on the QFI list in force on that
  date (first list 2022-09-02; expansions 2025-03-04 and 2025-06-20);
* contracts: overseas traders may trade only ``i1809`` and later iron ore contracts;
* individuals may not hold into the delivery stage (:func:`must_exit_before_stage`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from cnfutures._dates import DateLike, parse_date
from cnfutures.access.investor import Investor, Route, load_access_toml
from cnfutures.errors import AccessDenied, CalendarOutOfBounds, InputError
from cnfutures.market._dated import in_force
from cnfutures.market.contracts import Contract, contract
from cnfutures.market.products import Product, product
from cnfutures.validation import check_listed

__all__ = [
    "Eligibility",
    "Finding",
    "contract_eligible",
    "eligible",
    "first_allowed",
    "individual_exit_rule",
    "individual_exit_start",
    "must_exit_before_stage",
    "route_at_exchange",
]


@dataclass(frozen=True)
class Finding:
    """One rule checked, with its outcome and where the rule comes from.

    Attributes
    ----------
    rule : str
        Rule id (``"specified_product"``, ``"route_at_exchange"``, ``"qfi_list"``, ...).
    ok : bool
        True when the rule is satisfied (or is a constraint that applies without denying).
    text : str
        A human sentence.
    source : str
        Document(s) behind the rule.
    verified : bool
        False when the rule rests on a fact the fact sheet marks UNVERIFIED.
    """

    rule: str
    ok: bool
    text: str
    source: str
    verified: bool

    def describe(self) -> str:
        """The sentence with its source and, when unverified, the flag."""
        flag = "" if self.verified else " [UNVERIFIED]"
        return f"{self.text} (source: {self.source}){flag}"


@dataclass(frozen=True)
class Eligibility:
    """Whether an investor may trade a product (or contract) on a date, and why.

    Attributes
    ----------
    allowed : bool
    reasons : tuple of str
        Human sentences: the failing rules when denied, every rule checked when allowed.
    sources : tuple of str
        The document behind each reason (aligned with ``reasons``).
    unverified : tuple of str
        Rules that entered the decision but rest on unverified facts (``"rule: text"``).
    first_contract : str or None
        Earliest contract open to this investor (``"i1809"``); None = any listed contract.
    findings : tuple of Finding
        Every rule checked, passing or failing.

    Examples
    --------
    >>> e = eligible(Investor("osbp_client"), "i", "2025-06-03")
    >>> e.allowed
    False
    >>> e.raise_if_denied()
    Traceback (most recent call last):
    ...
    cnfutures.errors.AccessDenied: osbp_client institution may not trade i on 2025-06-03: ...
    """

    allowed: bool
    reasons: tuple[str, ...]
    sources: tuple[str, ...]
    unverified: tuple[str, ...]
    first_contract: str | None
    findings: tuple[Finding, ...] = ()
    subject: str = ""

    @property
    def failed(self) -> tuple[Finding, ...]:
        """The failing findings."""
        return tuple(f for f in self.findings if not f.ok)

    def raise_if_denied(self) -> None:
        """Raise :class:`~cnfutures.errors.AccessDenied` listing the reasons, if denied."""
        if not self.allowed:
            raise AccessDenied(
                f"{self.subject}: " + "; ".join(f.describe() for f in self.failed)
                if self.subject
                else "; ".join(f.describe() for f in self.failed)
            )

    def __bool__(self) -> bool:
        return self.allowed


def _result(findings: list[Finding], first_contract: str | None, subject: str) -> Eligibility:
    allowed = all(f.ok for f in findings)
    shown = [f for f in findings if not f.ok] if not allowed else findings
    return Eligibility(
        allowed=allowed,
        reasons=tuple(f.text for f in shown),
        sources=tuple(f.source for f in shown),
        unverified=tuple(f"{f.rule}: {f.text}" for f in findings if not f.verified),
        first_contract=first_contract,
        findings=tuple(findings),
        subject=subject,
    )


def _spec_row(code: str) -> dict[str, Any] | None:
    for row in load_access_toml("products.toml").get("specified", []):
        if row["product"] == code:
            return dict(row)
    return None


def _not_specified_row(code: str) -> dict[str, Any] | None:
    for row in load_access_toml("products.toml").get("not_specified", []):
        if row["product"] == code:
            return dict(row)
    return None


def _qfi_row(code: str) -> dict[str, Any] | None:
    """The earliest QFI list naming the product."""
    rows = [r for r in load_access_toml("products.toml").get("qfi_list", []) if code in r["products"]]
    return dict(min(rows, key=lambda r: r["effective"])) if rows else None


def route_at_exchange(route: Route | str, exchange: str, on: DateLike) -> Finding:
    """Whether a specified-product route exists at an exchange on a date.

    Parameters
    ----------
    route : Route or str
        One of the four specified-product routes (QFI is not exchange-bound this way).
    exchange : str
        ``"INE"``, ``"DCE"``, ``"SHFE"`` or ``"ZCE"``.
    on : date or str

    Examples
    --------
    >>> route_at_exchange("osnbp", "DCE", "2025-06-03").ok
    False
    >>> route_at_exchange("osnbp", "INE", "2025-06-03").ok
    True
    """
    from cnfutures.access.investor import parse_route

    r = parse_route(route)
    d = parse_date(on, "on")
    ex = exchange.upper()
    rows = [a for a in load_access_toml("routes.toml")["availability"] if a["exchange"] == ex]
    if not rows:
        known = sorted({a["exchange"] for a in load_access_toml("routes.toml")["availability"]})
        raise InputError(f"exchange={exchange!r} has no route data; known: {', '.join(known)}")
    mine = [a for a in rows if r.value in a["routes"]]
    absent = [a for a in mine if not a["exists"] and a["effective"] <= d]
    present = [a for a in mine if a["exists"]]
    if absent and not any(a["effective"] > absent[-1]["effective"] and a["effective"] <= d for a in present):
        a = absent[-1]
        return Finding(
            "route_at_exchange",
            False,
            f"route {r.value} does not exist at {ex}: {ex} has no overseas special participant (OSP) "
            f"category; only {', '.join(_routes_existing(ex, d)) or 'no route'} exist(s) there",
            a["source"],
            bool(a["verified"]),
        )
    live = in_force(present, d)
    if live is not None:
        a = live
        return Finding(
            "route_at_exchange",
            True,
            f"route {r.value} exists at {ex} since {a['effective']}",
            a["source"],
            bool(a["verified"]),
        )
    if present:
        a = min(present, key=lambda x: x["effective"])
        return Finding(
            "route_at_exchange",
            False,
            f"route {r.value} does not exist at {ex} on {d}; it opens on {a['effective']}",
            a["source"],
            bool(a["verified"]),
        )
    return Finding(
        "route_at_exchange",
        False,
        f"route {r.value} is not recorded at {ex}",
        "access/data/routes.toml (no row)",
        True,
    )


def _routes_existing(ex: str, d: dt.date) -> list[str]:
    out: list[str] = []
    for a in load_access_toml("routes.toml")["availability"]:
        if a["exchange"] == ex and a["exists"] and a["effective"] <= d:
            out += [x for x in a["routes"] if x not in out]
    return out


def _product_on(code: str, on: DateLike) -> tuple[Product, dt.date]:
    p = product(code)
    d = parse_date(on, "on")
    if p.listed is not None and d < p.listed:
        raise InputError(
            f"product {p.code!r} did not exist on {d}: it was listed on {p.listed}; "
            "ask for a date on or after it"
        )
    return p, d


def eligible(investor: Investor, product: str, on: DateLike) -> Eligibility:
    """Whether ``investor`` may trade ``product`` on date ``on``.

    Parameters
    ----------
    investor : Investor
    product : str
        Product code (``"sc"``, ``"i"``, ``"nr"``, ``"ru"``, ``"lu"``, ``"bc"``).
    on : date or str
        Date of the question.

    Returns
    -------
    Eligibility

    Raises
    ------
    UnknownProduct
        An unknown product code.
    InputError
        A date before the product existed.

    Examples
    --------
    >>> eligible(Investor("qfi"), "ru", "2025-06-19").allowed
    False
    >>> eligible(Investor("qfi"), "ru", "2025-06-20").allowed
    True
    >>> eligible(Investor("overseas_intermediary"), "sc", "2019-06-03").allowed
    True
    """
    if not isinstance(investor, Investor):
        raise InputError(f"investor={investor!r} must be a cnfutures.access.Investor")
    p, d = _product_on(product, on)
    route = investor.route_
    subject = f"{investor.route_.value} {investor.kind} may not trade {p.code} on {d}"
    findings: list[Finding] = []
    spec = _spec_row(p.code)
    first = (spec or {}).get("first_contract") or None
    if route is Route.QFI:
        regime = load_access_toml("routes.toml")["qfi"]
        start: dt.date = regime["commodity_futures_from"]
        findings.append(
            Finding(
                "qfi_regime",
                d >= start,
                f"QFIs may trade commodity futures from {start}"
                + ("" if d >= start else f"; {d} is before that"),
                regime["source"],
                bool(regime["verified"]),
            )
        )
        row = _qfi_row(p.code)
        if row is None:
            findings.append(
                Finding(
                    "qfi_list",
                    False,
                    f"{p.code} is on no QFI contract list in the data (lists of "
                    + ", ".join(str(r["effective"]) for r in load_access_toml("products.toml")["qfi_list"])
                    + ")",
                    "; ".join(r["source"] for r in load_access_toml("products.toml")["qfi_list"]),
                    True,
                )
            )
        elif row["effective"] > d:
            findings.append(
                Finding(
                    "qfi_list",
                    False,
                    f"{p.code} is not on the QFI list on {d}; it was added on {row['effective']} "
                    f"({row['name']})",
                    row["source"],
                    bool(row["verified"]),
                )
            )
        else:
            findings.append(
                Finding(
                    "qfi_list",
                    True,
                    f"{p.code} is on the QFI list since {row['effective']} ({row['name']})",
                    row["source"],
                    bool(row["verified"]),
                )
            )
        nd = regime["no_delivery"]
        findings.append(
            Finding("qfi_no_delivery", True, f"{nd['text']} (applied as a constraint)", nd["source"], False)
        )
    else:
        if spec is None:
            ns = _not_specified_row(p.code)
            findings.append(
                Finding(
                    "specified_product",
                    False,
                    f"{p.code} is not a specified product; overseas traders reach it only through QFI",
                    ns["source"] if ns else "access/data/products.toml (not listed as specified)",
                    bool(ns["verified"]) if ns else True,
                )
            )
        else:
            ok = spec["effective"] <= d
            findings.append(
                Finding(
                    "specified_product",
                    ok,
                    f"{p.code} is a specified product open to overseas traders since {spec['effective']}"
                    if ok
                    else f"{p.code} becomes a specified product only on {spec['effective']}; not on {d}",
                    spec["source"],
                    bool(spec["verified"]),
                )
            )
        findings.append(route_at_exchange(route, p.exchange, d))
    if first:
        findings.append(
            Finding(
                "first_contract",
                True,
                f"only {first} and later {p.code} contracts are open to overseas traders",
                spec["source"] if spec else "",
                bool(spec["verified"]) if spec else True,
            )
        )
    return _result(findings, first, subject)


def _contract_key(c: Contract) -> tuple[int, int]:
    return (c.year, c.month)


def contract_eligible(investor: Investor, contract_code: str, on: DateLike) -> Eligibility:
    """Whether ``investor`` may trade one contract on trading day ``on``.

    Adds to :func:`eligible` the first-contract rule (overseas traders: ``i1809`` and later).

    Raises
    ------
    UnknownContract
        A bad code, or a contract not listed on ``on``.
    NotTradingDay
        ``on`` is not a trading day.

    Examples
    --------
    >>> inv = Investor("ff_client")
    >>> contract_eligible(inv, "i1805", "2018-05-04").allowed
    False
    >>> contract_eligible(inv, "i1809", "2018-05-04").allowed
    True
    """
    c = contract(contract_code)
    d = c.calendar.require_trading_day(on, "on")
    if not c.is_listed(d):
        check_listed(c, d, listed_that_day=[x.code for x in _listed(c.product.code, d)])
    e = eligible(investor, c.product.code, d)
    findings = list(e.findings)
    if e.first_contract:
        first = contract(e.first_contract)
        ok = _contract_key(c) >= _contract_key(first)
        for k, f in enumerate(findings):
            if f.rule == "first_contract":
                findings[k] = Finding(
                    "first_contract",
                    ok,
                    f"{c.code} is open to overseas traders ({first.code} and later are)"
                    if ok
                    else f"{c.code} is not open to overseas traders: only {first.code} and later "
                    "contracts are",
                    f.source,
                    f.verified,
                )
    subject = f"{investor.route_.value} {investor.kind} may not trade {c.code} on {d}"
    return _result(findings, e.first_contract, subject)


def _listed(code: str, d: dt.date) -> list[Contract]:
    from cnfutures.market.contracts import listed_contracts

    return listed_contracts(code, d)


def individual_exit_rule(product_code: str, contract_code: str | None = None) -> dict[str, Any] | None:
    """The data row saying from when an individual may not hold ``product_code`` (or one contract).

    Of several rows of a product, the one with the latest ``contract_from`` at or before the
    contract applies (without a contract: the row without ``contract_from``).

    Examples
    --------
    >>> individual_exit_rule("i")["stage"]
    'delivery_month'
    >>> individual_exit_rule("sc")["ltd_offset"], individual_exit_rule("nr", "nr2401")["ltd_offset"]
    (-7, -4)
    """
    code = product(product_code).code
    month = None
    if contract_code is not None:
        c = contract(contract_code)
        month = c.year * 12 + c.month
    best: dict[str, Any] | None = None
    best_from = -1
    for row in load_access_toml("holding.toml")["individual_exit"]:
        if row["product"] != code:
            continue
        start = -1
        if "contract_from" in row:
            f = contract(row["contract_from"])
            start = f.year * 12 + f.month
            if month is None or start > month:
                continue
        if start > best_from or best is None:
            best, best_from = dict(row), start
    return best


def individual_exit_start(contract_code: str | Contract) -> tuple[dt.date | None, dict[str, Any] | None]:
    """The first trading day on which an individual may no longer hold the contract, and the rule.

    ``(None, None)`` when the product has no such rule; ``(None, row)`` when that day lies beyond
    the calendar's coverage.

    Examples
    --------
    >>> individual_exit_start("sc1908")[0]  # INE: flat by the close of 2019-07-19 (LTD 2019-07-31)
    datetime.date(2019, 7, 22)
    >>> individual_exit_start("i2509")[0]  # DCE: 0 lots in the delivery month
    datetime.date(2025, 9, 1)
    """
    c = contract_code if isinstance(contract_code, Contract) else contract(contract_code)
    row = individual_exit_rule(c.product.code, c.code)
    if row is None:
        return None, None
    try:
        if "ltd_offset" in row:
            return c.calendar.offset(c.last_trading_day, int(row["ltd_offset"])), row
        return c.stage_starts().get(str(row["stage"])), row
    except CalendarOutOfBounds:
        return None, row


def must_exit_before_stage(investor: Investor, product: str, on: DateLike) -> str | None:
    """How the data states the individual-exit rule for ``product``: a stage name, ``"ltd-N"`` or None.

    ``"ltd-7"`` means: no position from the 7th trading day before the last trading day (flat
    by the close of the 8th). Institutions: None. For the day itself use
    :func:`individual_exit_start`, which also knows per-contract rules (``contract_from``).

    Examples
    --------
    >>> must_exit_before_stage(Investor("ff_client", kind="individual"), "i", "2025-06-03")
    'delivery_month'
    >>> must_exit_before_stage(Investor("ff_client", kind="individual"), "sc", "2025-06-03")
    'ltd-7'
    >>> must_exit_before_stage(Investor("ff_client"), "i", "2025-06-03") is None
    True
    """
    _product_on(product, on)
    if investor.kind != "individual":
        return None
    row = individual_exit_rule(product)
    if row is None:
        return None
    return f"ltd{int(row['ltd_offset'])}" if "ltd_offset" in row else str(row["stage"])


def first_allowed(route: Route | str, product_code: str) -> tuple[dt.date | None, tuple[str, ...], bool]:
    """The first date a route may trade a product, from the data: (date or None, sources, verified).

    Used for the "Which route can trade what, since when" table in the docs.

    Examples
    --------
    >>> first_allowed("qfi", "ru")[0]
    datetime.date(2025, 6, 20)
    >>> first_allowed("osnbp", "i")[0] is None
    True
    """
    from cnfutures.access.investor import parse_route

    r = parse_route(route)
    p = product(product_code)
    if r is Route.QFI:
        regime = load_access_toml("routes.toml")["qfi"]
        row = _qfi_row(p.code)
        if row is None:
            return None, (), True
        return (
            max(regime["commodity_futures_from"], row["effective"]),
            (regime["source"], row["source"]),
            bool(regime["verified"] and row["verified"]),
        )
    spec = _spec_row(p.code)
    if spec is None:
        return None, (), True
    rows = [
        a
        for a in load_access_toml("routes.toml")["availability"]
        if a["exchange"] == p.exchange and a["exists"] and r.value in a["routes"]
    ]
    if not rows:
        return None, (), True
    a = min(rows, key=lambda x: x["effective"])
    return (
        max(spec["effective"], a["effective"]),
        (spec["source"], a["source"]),
        bool(spec["verified"] and a["verified"]),
    )

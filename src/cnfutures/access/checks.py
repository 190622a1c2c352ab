"""Pre-trade check: may this investor place this order now, and if not, every reason why.

:func:`check_order` runs every rule and collects each failure with its source and
``verified`` flag (it does not stop at the first):

eligibility (route, product, contract) · trading session open (when the order has a
timestamp) · price inside the day's limit band · resulting position within the position
limit for the contract's stage (an approved hedging quota lifts it for hedge orders) · the
daily opening limit (hedging exempt) · the maximum order size · individuals and delivery ·
the QFI no-delivery / speculative-only rule (UNVERIFIED, flagged) · funds sufficient after the
trade, counting USD collateral at the haircut.

A rule the data has no value for (e.g. no ``nr`` position limit) is listed in
``Decision.skipped``, never silently passed.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from cnfutures._dates import DateLike
from cnfutures.access.collateral import collateral_value_cny, haircut_rule, margin_requirement
from cnfutures.access.eligibility import contract_eligible, individual_exit_start
from cnfutures.access.investor import Investor, Route, load_access_toml
from cnfutures.errors import InputError, NotInSession, RuleNotFound
from cnfutures.market import rules
from cnfutures.market.contracts import contract
from cnfutures.validation import check_finite, check_listed

__all__ = ["Account", "Decision", "Order", "Reason", "check_order"]

_SIDES = ("buy", "sell")
_OFFSETS = ("open", "close")


@dataclass(frozen=True)
class Order:
    """An order to check.

    Parameters
    ----------
    contract : str
        Contract code (any case).
    side : {"buy", "sell"}
    lots : int
        Lots, > 0.
    price : float
        Limit price [CNY/unit].
    offset : {"open", "close"}
        Opens a new position or closes an existing one.
    hedge : bool
        Hedging order (uses the hedging quota, exempt from the opening limit).
    timestamp : datetime, optional
        When the order is sent (Beijing time if naive); checked against the sessions.
    prev_settle : float, optional
        Previous settlement price [CNY/unit] for the limit band (else taken from the account).

    Examples
    --------
    >>> Order("SC2509", "buy", 5, 500.0).contract
    'sc2509'
    """

    contract: str
    side: Literal["buy", "sell"]
    lots: int
    price: float
    offset: Literal["open", "close"] = "open"
    hedge: bool = False
    timestamp: dt.datetime | None = None
    prev_settle: float | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "contract", contract(self.contract).code)
        if self.side not in _SIDES:
            raise InputError(f"Order side={self.side!r}; accepted: {', '.join(_SIDES)}")
        if self.offset not in _OFFSETS:
            raise InputError(f"Order offset={self.offset!r}; accepted: {', '.join(_OFFSETS)}")
        if isinstance(self.lots, bool) or not isinstance(self.lots, int) or self.lots <= 0:
            raise InputError(
                f"Order lots={self.lots!r}; lots must be a whole number > 0 (use side for direction)"
            )
        if not (isinstance(self.price, int | float) and math.isfinite(self.price) and self.price > 0):
            raise InputError(f"Order price={self.price!r}; it must be a positive, finite price")
        if self.prev_settle is not None and not (math.isfinite(self.prev_settle) and self.prev_settle > 0):
            raise InputError(f"Order prev_settle={self.prev_settle!r}; it must be a positive, finite price")
        if self.timestamp is not None and not isinstance(self.timestamp, dt.datetime):
            raise InputError(f"Order timestamp={self.timestamp!r} must be a datetime.datetime")

    @property
    def signed_lots(self) -> int:
        """+lots for a buy, −lots for a sell."""
        return self.lots if self.side == "buy" else -self.lots


@dataclass(frozen=True)
class Account:
    """The investor's account before the order.

    Parameters
    ----------
    cny_cash : float
        Free CNY cash plus CNY already posted [CNY].
    usd_collateral : float
        USD posted as margin [USD].
    positions : mapping contract -> signed lots
    opened_today : mapping contract -> lots opened this trading day
    prev_settle : mapping contract -> previous settlement price [CNY/unit]
    usd_cny : float, optional
        Central parity used to value the USD [CNY per USD] (needed when ``usd_collateral`` > 0).
    """

    cny_cash: float = 0.0
    usd_collateral: float = 0.0
    positions: Mapping[str, int] = field(default_factory=dict)
    opened_today: Mapping[str, int] = field(default_factory=dict)
    prev_settle: Mapping[str, float] = field(default_factory=dict)
    usd_cny: float | None = None

    def __post_init__(self) -> None:
        for name in ("cny_cash", "usd_collateral"):
            v = getattr(self, name)
            if not (isinstance(v, int | float) and math.isfinite(v)):
                raise InputError(f"Account {name}={v!r} must be a finite number")
        if self.usd_collateral < 0:
            raise InputError(f"Account usd_collateral={self.usd_collateral!r} must be >= 0")
        if self.usd_cny is not None and not (math.isfinite(self.usd_cny) and self.usd_cny > 0):
            raise InputError(f"Account usd_cny={self.usd_cny!r} must be a positive rate [CNY per USD]")
        norm = {}
        for name in ("positions", "opened_today", "prev_settle"):
            norm[name] = {contract(k).code: v for k, v in dict(getattr(self, name)).items()}
        for name in ("positions", "opened_today"):
            for k, v in norm[name].items():
                if isinstance(v, bool) or not isinstance(v, int):
                    raise InputError(f"Account {name}[{k!r}]={v!r}; lots must be a whole number (int)")
        for k, v in norm["opened_today"].items():
            if v < 0:
                raise InputError(f"Account opened_today[{k!r}]={v!r} must be >= 0")
        for k, v in norm["prev_settle"].items():
            check_finite(v, f"Account prev_settle[{k!r}]", positive=True, allow_null=False, what="[CNY/unit]")
        for name, value in norm.items():
            object.__setattr__(self, name, value)


@dataclass(frozen=True)
class Reason:
    """One rule an order fails (or a note), with its source.

    Attributes
    ----------
    rule : str
    message : str
    source : str
    verified : bool
    """

    rule: str
    message: str
    source: str
    verified: bool

    def __str__(self) -> str:
        return f"{self.rule}: {self.message} (source: {self.source})" + (
            "" if self.verified else " [UNVERIFIED]"
        )


@dataclass(frozen=True)
class Decision:
    """Outcome of :func:`check_order`.

    Attributes
    ----------
    allowed : bool
    reasons : tuple of Reason
        Every rule the order fails, each with its source and verified flag.
    notes : tuple of Reason
        Rules that pass but rest on unverified facts, or constrain later (QFI no-delivery).
    skipped : tuple of Reason
        Rules not checked for lack of data or input (e.g. no prev_settle, no timestamp).
    margin_cny, available_cny : float or None
        Margin required after the trade and funds available [CNY].
    """

    allowed: bool
    reasons: tuple[Reason, ...]
    notes: tuple[Reason, ...] = ()
    skipped: tuple[Reason, ...] = ()
    margin_cny: float | None = None
    available_cny: float | None = None

    @property
    def sources(self) -> tuple[str, ...]:
        """The source of each failing reason."""
        return tuple(r.source for r in self.reasons)

    @property
    def unverified(self) -> tuple[str, ...]:
        """Rules in the decision (reasons and notes) resting on unverified facts."""
        return tuple(str(r) for r in (*self.reasons, *self.notes) if not r.verified)

    def __bool__(self) -> bool:
        return self.allowed


def _src(rv: rules.RuleValue) -> str:
    return "; ".join(rv.sources)


def check_order(
    investor: Investor,
    order: Order,
    account: Account,
    on: DateLike,
    *,
    broker_addon: float = 0.0,
    open_interest: float | None = None,
    book: rules.RuleBook | None = None,
) -> Decision:
    """Check an order against every access and exchange rule in force on trading day ``on``.

    Parameters
    ----------
    investor : Investor
    order : Order
    account : Account
    on : date or str
        Trading day.
    broker_addon : float
        Futures firm's margin add-on [fraction] used for the funds check.
    open_interest : float, optional
        Open interest [lots] for limits expressed as a share of it.
    book : RuleBook, optional
        Rule data (default: bundled).

    Returns
    -------
    Decision

    Raises
    ------
    UnknownContract
        The contract is not listed on ``on``.
    NotTradingDay
        ``on`` is not a trading day.

    Examples
    --------
    >>> acct = Account(cny_cash=1_000_000.0, prev_settle={"sc2509": 480.0})
    >>> d = check_order(Investor("ff_client"), Order("sc2509", "buy", 1, 500.0), acct, "2025-06-03")
    >>> d.allowed
    True
    >>> d = check_order(Investor("ff_client"), Order("sc2509", "buy", 1, 530.0), acct, "2025-06-03")
    >>> [r.rule for r in d.reasons]
    ['price_limit']
    """
    if not isinstance(investor, Investor):
        raise InputError(f"investor={investor!r} must be a cnfutures.access.Investor")
    if not isinstance(order, Order):
        raise InputError(f"order={order!r} must be a cnfutures.access.Order")
    if not isinstance(account, Account):
        raise InputError(f"account={account!r} must be a cnfutures.access.Account")
    c = contract(order.contract)
    cal = c.calendar
    d = cal.require_trading_day(on, "on")
    check_listed(c, d, what="order for contract")
    fails: list[Reason] = []
    notes: list[Reason] = []
    skipped: list[Reason] = []
    stage = c.stage(d)

    # 1. eligibility
    e = contract_eligible(investor, c.code, d)
    for f in e.findings:
        r = Reason(f.rule, f.text, f.source, f.verified)
        if not f.ok:
            fails.append(r)
        elif not f.verified:
            notes.append(r)

    # 2. session
    if order.timestamp is None:
        skipped.append(Reason("session", "no order timestamp: session not checked", "Order.timestamp", True))
    else:
        sess_src = f"{c.product.exchange} trading sessions (market/data/sessions.toml, holidays.toml)"
        try:
            td = cal.trading_day_of(order.timestamp, c.product)
        except NotInSession:
            fails.append(
                Reason("session", f"{order.timestamp} is in no {c.code} trading session", sess_src, True)
            )
        else:
            if td != d:
                fails.append(
                    Reason(
                        "session",
                        f"{order.timestamp} belongs to trading day {td}, not {d}",
                        sess_src,
                        True,
                    )
                )

    # 3. price limit band
    prev = order.prev_settle if order.prev_settle is not None else account.prev_settle.get(c.code)
    if prev is None:
        skipped.append(
            Reason(
                "price_limit",
                f"no prev_settle for {c.code} in the order or account",
                "Account.prev_settle",
                True,
            )
        )
    else:
        try:
            band = rules.price_limit(c, d, prev, book=book)
        except RuleNotFound as exc:
            skipped.append(Reason("price_limit", str(exc), "market/data/rules.toml", False))
        else:
            assert band.upper is not None and band.lower is not None
            src = _src(band.rule)
            if not band.lower <= order.price <= band.upper:
                fails.append(
                    Reason(
                        "price_limit",
                        f"price {order.price} is outside the {c.code} limit band "
                        f"[{band.lower}, {band.upper}] "
                        f"(prev settle {prev} ± {band.rate:.0%})",
                        src,
                        band.rule.verified,
                    )
                )
            elif not band.rule.verified:
                notes.append(
                    Reason("price_limit", f"limit {band.rate:.0%} rests on unverified data", src, False)
                )

    opening = order.offset == "open"
    current = int(account.positions.get(c.code, 0))

    # 4. position limit (opening orders)
    if opening:
        after = current + order.signed_lots
        try:
            pl_rv = rules.position_limit(c, d, holder=investor.holder, open_interest=open_interest, book=book)
        except RuleNotFound as exc:
            skipped.append(Reason("position_limit", str(exc), "market/data/rules.toml", False))
        else:
            limit = pl_rv.value
            src = _src(pl_rv)
            what = f"speculative limit {limit:.0f} lots ({pl_rv.scope})"
            if (
                order.hedge
                and investor.hedging_quota is not None
                and pl_rv.scope != f"holder:{investor.holder}"
            ):
                limit = max(limit, float(investor.hedging_quota))
                src += "; hedging quota (INE hedging rules https://www.ine.cn/eng/services/trading/hedging/)"
                what = f"limit {limit:.0f} lots (speculative {pl_rv.value:.0f}, lifted by the hedging quota)"
            elif order.hedge:
                notes.append(
                    Reason(
                        "position_limit",
                        "hedge order without an approved hedging quota: the speculative limit applies",
                        "https://www.ine.cn/eng/services/trading/hedging/",
                        True,
                    )
                )
            if abs(after) > limit:
                fails.append(
                    Reason(
                        "position_limit",
                        f"position after the order {after:+d} lots exceeds the {what} "
                        f"for {c.code} in stage {stage}",
                        src,
                        pl_rv.verified,
                    )
                )

    # 5. daily opening limit (hedging exempt)
    if opening and not order.hedge:
        try:
            ol = rules.open_limit(c, d, book=book)
        except RuleNotFound:
            notes.append(
                Reason(
                    "open_limit",
                    f"no daily opening limit for {c.code} on {d} in the data",
                    "market/data/rules.toml",
                    True,
                )
            )
        else:
            done = int(account.opened_today.get(c.code, 0))
            if done + order.lots > ol.value:
                fails.append(
                    Reason(
                        "open_limit",
                        f"{done} + {order.lots} = {done + order.lots} lots opened today exceeds "
                        "the daily opening "
                        f"limit of {ol.value:.0f} lots for {c.code}",
                        _src(ol),
                        ol.verified,
                    )
                )

    # 6. max order size
    try:
        mo = rules.max_order(c, d, book=book)
    except RuleNotFound as exc:
        skipped.append(Reason("max_order", str(exc), "market/data/rules.toml", False))
    else:
        if order.lots > mo.value:
            fails.append(
                Reason(
                    "max_order",
                    f"order of {order.lots} lots exceeds the maximum order size of {mo.value:.0f} lots",
                    _src(mo),
                    mo.verified,
                )
            )

    # 7. individuals and delivery
    if investor.kind == "individual" and opening:
        start, row = individual_exit_start(c)
        if row is not None and start is not None and d >= start:
                fails.append(
                    Reason(
                        "individual_delivery",
                        f"individuals may not hold {c.code} from {start}: {row['rule']}",
                        row["source"],
                        bool(row["verified"]),
                    )
                )

    # 8. QFI: no delivery, speculative codes only (UNVERIFIED rule, flagged)
    if investor.route_ is Route.QFI:
        nd = load_access_toml("routes.toml")["qfi"]["no_delivery"]
        if order.hedge:
            fails.append(Reason("qfi_speculative_only", f"hedge order: {nd['text']}", nd["source"], False))
        if opening and stage in ("delivery", "expired"):
            fails.append(
                Reason("qfi_no_delivery", f"{c.code} is in delivery: {nd['text']}", nd["source"], False)
            )

    # 9. funds after the trade
    margin_after = available = None
    positions = dict(account.positions)
    positions[c.code] = current + order.signed_lots
    positions = {k: v for k, v in positions.items() if v != 0}
    prices = {k: float(account.prev_settle[k]) for k in positions if k in account.prev_settle}
    prices[c.code] = float(order.price)
    missing = sorted(k for k in positions if k not in prices)
    if missing:
        skipped.append(
            Reason(
                "funds",
                f"no prev_settle for held contract(s) {missing}: funds not checked",
                "Account.prev_settle",
                True,
            )
        )
    elif account.usd_collateral > 0 and account.usd_cny is None:
        raise InputError("Account usd_collateral > 0 needs usd_cny (the central parity) to value it")
    else:
        try:
            m = margin_requirement(positions, prices, d, investor, broker_addon, order.hedge, book=book)
            fee = rules.fee(c, d, book=book)
        except RuleNotFound as exc:
            skipped.append(Reason("funds", str(exc), "market/data/rules.toml", False))
        else:
            action: Literal["open", "close"] = "open" if opening else "close"
            fee_cny = fee.amount(order.lots, order.price, c.multiplier, action)
            usd_cny_value = 0.0
            h_src = ""
            h_ok = True
            if account.usd_collateral > 0:
                assert account.usd_cny is not None
                h = haircut_rule(c.product.exchange, d)
                usd_cny_value = float(collateral_value_cny(account.usd_collateral, account.usd_cny, h.value))
                h_src, h_ok = h.source, h.verified
            available = account.cny_cash + usd_cny_value - fee_cny
            margin_after = m.cny
            if margin_after > available:
                fails.append(
                    Reason(
                        "funds",
                        f"margin after the trade CNY {margin_after:,.2f} exceeds funds CNY {available:,.2f} "
                        f"(cash {account.cny_cash:,.2f} + USD {account.usd_collateral:,.2f} at the haircut "
                        f"= CNY {usd_cny_value:,.2f} − fee {fee_cny:,.2f})",
                        "; ".join(s for s in (*m.sources, fee.source, h_src) if s),
                        all(m.by_contract["verified"].to_list()) and fee.verified and h_ok,
                    )
                )
    return Decision(
        allowed=not fails,
        reasons=tuple(fails),
        notes=tuple(notes),
        skipped=tuple(skipped),
        margin_cny=margin_after,
        available_cny=available,
    )

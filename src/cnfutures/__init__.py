"""cnfutures: hedge China's onshore commodity futures as a foreign investor.

Public names are imported lazily, so ``import cnfutures`` stays fast; numba kernels compile
on first use (and are cached on disk), or all at once with :func:`warmup`.

Examples
--------
>>> import cnfutures
>>> cnfutures.product("sc").multiplier
1000.0
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from cnfutures.errors import (
    AccessDenied,
    CalendarOutOfBounds,
    CnFuturesError,
    DataError,
    InputError,
    NotInSession,
    NotTradingDay,
    OptionalDependencyMissing,
    PricingError,
    RuleNotFound,
    UnknownContract,
    UnknownExchange,
    UnknownProduct,
)

__version__ = "0.1.0"

# public name -> module that defines it
_LAZY: dict[str, str] = {
    "Product": "cnfutures.market.products",
    "product": "cnfutures.market.products",
    "products": "cnfutures.market.products",
    "TradingCalendar": "cnfutures.market.calendar",
    "calendar": "cnfutures.market.calendar",
    "Contract": "cnfutures.market.contracts",
    "contract": "cnfutures.market.contracts",
    "listed_contracts": "cnfutures.market.contracts",
    "option": "cnfutures.market.options",
    "listed_options": "cnfutures.market.options",
    "value_options": "cnfutures.valuation",
    "rules": "cnfutures.market.rules",
    "validate_futures": "cnfutures.frames",
    "validate_continuous": "cnfutures.frames",
    "validate_spot": "cnfutures.frames",
    "validate_fx": "cnfutures.frames",
    "validate_intraday": "cnfutures.frames",
    "check_futures": "cnfutures.frames",
    "read_futures": "cnfutures.frames",
    "read_exchange_daily": "cnfutures.frames",
    "read_spot": "cnfutures.frames",
    "read_fx": "cnfutures.frames",
    "read_intraday": "cnfutures.frames",
    "write_parquet": "cnfutures.frames",
    "settlement_price": "cnfutures.frames",
    "continuous": "cnfutures.frames",
    "detect_rolls": "cnfutures.frames",
    "RollRule": "cnfutures.frames",
    "roll_schedule": "cnfutures.frames",
    "ValidationReport": "cnfutures.frames",
    "Market": "cnfutures.backtest",
    "Exposure": "cnfutures.backtest",
    "HedgePolicy": "cnfutures.backtest",
    "Costs": "cnfutures.backtest",
    "BacktestResult": "cnfutures.backtest",
    "Investor": "cnfutures.access.investor",
    "Route": "cnfutures.access.investor",
    "eligible": "cnfutures.access.eligibility",
    "contract_eligible": "cnfutures.access.eligibility",
    "check_order": "cnfutures.access.checks",
    "Order": "cnfutures.access.checks",
    "Account": "cnfutures.access.checks",
    "collateral_value_cny": "cnfutures.access.collateral",
    "margin_requirement": "cnfutures.access.collateral",
    "route_economics": "cnfutures.access.economics",
    "compare_routes": "cnfutures.backtest.routes",
    "hedge_risk": "cnfutures.backtest.risk",
    "HedgeRisk": "cnfutures.backtest.risk",
    "sweep": "cnfutures.backtest.sweep",
    "SweepSpec": "cnfutures.backtest.sweep",
    "SimulatedMarket": "cnfutures.backtest.sweep",
    "SweepError": "cnfutures.backtest.sweep",
}

_SUBMODULES = {
    "allocation",
    "market",
    "pricing",
    "hedging",
    "frames",
    "access",
    "backtest",
    "simulate",
    "datasets",
    "risk",
    "sweeps",
}

__all__ = [
    "AccessDenied",
    "CalendarOutOfBounds",
    "CnFuturesError",
    "DataError",
    "InputError",
    "NotInSession",
    "NotTradingDay",
    "OptionalDependencyMissing",
    "PricingError",
    "RuleNotFound",
    "UnknownContract",
    "UnknownExchange",
    "UnknownProduct",
    "__version__",
    "warmup",
    *sorted(_LAZY),
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        module = importlib.import_module(_LAZY[name])
        value = module if name == "rules" else getattr(module, name)
        globals()[name] = value
        return value
    if name in _SUBMODULES:
        target = "cnfutures.frames.datasets" if name == "datasets" else f"cnfutures.{name}"
        module = importlib.import_module(target)
        globals()[name] = module
        return module
    raise AttributeError(f"module 'cnfutures' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(__all__) | _SUBMODULES)


def warmup(jobs: int = 1) -> None:
    """Compile (or load from the on-disk cache) every numba kernel now.

    Kernels otherwise compile lazily on first use (a few seconds to about a minute per
    kernel module on a cold cache). The cache is shared by every process: by default in the
    user's cache folder (``~/.cache/cnfutures/<version>-numba<version>`` on Linux), or in
    ``NUMBA_CACHE_DIR`` when that environment variable is set. ``cnfutures warmup`` on the
    command line does the same with a progress line per module.

    Parameters
    ----------
    jobs : int
        Compile that many kernel modules at once in child processes (1: in this process).

    Examples
    --------
    >>> import cnfutures
    >>> cnfutures.warmup()
    """
    from cnfutures._cache import warmup_modules
    from cnfutures.errors import CnFuturesError

    failed = [t for t in warmup_modules(jobs=jobs) if not t.ok]
    if failed:
        raise CnFuturesError(
            "kernel warm-up failed: " + "; ".join(f"{t.module}: {t.message}" for t in failed)
        )


if TYPE_CHECKING:  # pragma: no cover
    from cnfutures.access.checks import Account as Account
    from cnfutures.access.checks import Order as Order
    from cnfutures.access.checks import check_order as check_order
    from cnfutures.access.collateral import collateral_value_cny as collateral_value_cny
    from cnfutures.access.collateral import margin_requirement as margin_requirement
    from cnfutures.access.economics import route_economics as route_economics
    from cnfutures.access.eligibility import contract_eligible as contract_eligible
    from cnfutures.access.eligibility import eligible as eligible
    from cnfutures.access.investor import Investor as Investor
    from cnfutures.access.investor import Route as Route
    from cnfutures.backtest import BacktestResult as BacktestResult
    from cnfutures.backtest import Costs as Costs
    from cnfutures.backtest import Exposure as Exposure
    from cnfutures.backtest import HedgePolicy as HedgePolicy
    from cnfutures.backtest import Market as Market
    from cnfutures.backtest.risk import HedgeRisk as HedgeRisk
    from cnfutures.backtest.risk import hedge_risk as hedge_risk
    from cnfutures.backtest.routes import compare_routes as compare_routes
    from cnfutures.backtest.sweep import SimulatedMarket as SimulatedMarket
    from cnfutures.backtest.sweep import SweepError as SweepError
    from cnfutures.backtest.sweep import SweepSpec as SweepSpec
    from cnfutures.backtest.sweep import sweep as sweep
    from cnfutures.frames import RollRule as RollRule
    from cnfutures.frames import ValidationReport as ValidationReport
    from cnfutures.frames import check_futures as check_futures
    from cnfutures.frames import continuous as continuous
    from cnfutures.frames import detect_rolls as detect_rolls
    from cnfutures.frames import read_exchange_daily as read_exchange_daily
    from cnfutures.frames import read_futures as read_futures
    from cnfutures.frames import read_fx as read_fx
    from cnfutures.frames import read_intraday as read_intraday
    from cnfutures.frames import read_spot as read_spot
    from cnfutures.frames import roll_schedule as roll_schedule
    from cnfutures.frames import settlement_price as settlement_price
    from cnfutures.frames import validate_continuous as validate_continuous
    from cnfutures.frames import validate_futures as validate_futures
    from cnfutures.frames import validate_fx as validate_fx
    from cnfutures.frames import validate_intraday as validate_intraday
    from cnfutures.frames import validate_spot as validate_spot
    from cnfutures.frames import write_parquet as write_parquet
    from cnfutures.market import rules as rules
    from cnfutures.market.calendar import TradingCalendar as TradingCalendar
    from cnfutures.market.calendar import calendar as calendar
    from cnfutures.market.contracts import Contract as Contract
    from cnfutures.market.contracts import contract as contract
    from cnfutures.market.contracts import listed_contracts as listed_contracts
    from cnfutures.market.products import Product as Product
    from cnfutures.market.products import product as product
    from cnfutures.market.products import products as products

"""Typed errors raised by cnfutures.

Every error names the offending value (and row or field where there is one) and says what
would be accepted. All inherit from :class:`CnFuturesError`, so a caller can catch the whole
family at once.

Examples
--------
>>> import cnfutures
>>> try:
...     cnfutures.product("zz")
... except cnfutures.UnknownProduct as exc:
...     print(type(exc).__name__)
UnknownProduct
"""

from __future__ import annotations

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
]


class CnFuturesError(Exception):
    """Base class of every error raised by cnfutures."""


class InputError(CnFuturesError, ValueError):
    """An argument has a value or type the function does not accept."""


class UnknownProduct(InputError, KeyError):
    """A product code is not in the product table."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class UnknownExchange(InputError, KeyError):
    """An exchange name is not one cnfutures knows."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class UnknownContract(InputError, KeyError):
    """A contract code does not exist (bad format, unlisted month, or not listed that day)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class CalendarOutOfBounds(InputError):
    """A date lies outside the range a calendar or rule table covers; it is never guessed."""


class NotTradingDay(InputError):
    """A date that must be a trading day is not one."""


class NotInSession(InputError):
    """A timestamp falls in no trading session."""


class RuleNotFound(CnFuturesError, LookupError):
    """No rule parameter is in force for the product, contract and date asked."""


class DataError(CnFuturesError, ValueError):
    """A data frame or file fails validation; the message lists every problem with its rows."""

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems: list[str] = list(problems or [])


class PricingError(InputError):
    """A pricing input is out of the model's domain, or an implied volatility does not exist."""


class AccessDenied(CnFuturesError):
    """An investor may not trade a product or contract through its route on that date."""


class OptionalDependencyMissing(CnFuturesError, ImportError):
    """A feature needs an optional extra that is not installed."""

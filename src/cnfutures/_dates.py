"""Date parsing shared by the public API (dates may be given as ``date``, ``datetime`` or ISO text)."""

from __future__ import annotations

import datetime as dt
from typing import TypeAlias

from cnfutures.errors import InputError

DateLike: TypeAlias = "dt.date | dt.datetime | str"


def parse_date(value: object, name: str = "date") -> dt.date:
    """Return ``value`` as a :class:`datetime.date`.

    Parameters
    ----------
    value : date, datetime or str
        A date, a datetime (its date part is used) or ISO text ``YYYY-MM-DD``.
    name : str
        Argument name used in the error message.

    Returns
    -------
    datetime.date

    Raises
    ------
    InputError
        If ``value`` is none of the accepted forms.

    Examples
    --------
    >>> parse_date("2025-04-30")
    datetime.date(2025, 4, 30)
    """
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise InputError(
        f"{name}={value!r} is not a date; pass a datetime.date, a datetime or ISO text such as '2025-04-30'"
    )

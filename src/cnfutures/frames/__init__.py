"""Price frames: schemas, validation, loaders, continuous series, settlement prices, datasets.

Names are imported lazily so that ``import cnfutures.frames`` stays cheap.

Examples
--------
>>> from cnfutures.frames import RollRule
>>> RollRule().kind
'calendar'
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_LAZY: dict[str, str] = {
    "RollRule": "cnfutures.frames.roll",
    "roll_schedule": "cnfutures.frames.roll",
    "SeriesMeta": "cnfutures.frames.schema",
    "contract_info": "cnfutures.frames.schema",
    "ValidationReport": "cnfutures.frames.validate",
    "validate_futures": "cnfutures.frames.validate",
    "validate_continuous": "cnfutures.frames.validate",
    "validate_spot": "cnfutures.frames.validate",
    "validate_fx": "cnfutures.frames.validate",
    "validate_intraday": "cnfutures.frames.validate",
    "check_futures": "cnfutures.frames.validate",
    "read_futures": "cnfutures.frames.io",
    "read_exchange_daily": "cnfutures.frames.io",
    "read_option_daily": "cnfutures.frames.exchange_files",
    "read_spot": "cnfutures.frames.io",
    "read_fx": "cnfutures.frames.io",
    "read_intraday": "cnfutures.frames.io",
    "write_parquet": "cnfutures.frames.io",
    "settlement_price": "cnfutures.frames.settlement",
    "daily_from_bars": "cnfutures.frames.settlement",
    "continuous": "cnfutures.frames.continuous",
    "detect_rolls": "cnfutures.frames.continuous",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'cnfutures.frames' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(__all__) | set(globals()))


if TYPE_CHECKING:  # pragma: no cover
    from cnfutures.frames.continuous import continuous as continuous
    from cnfutures.frames.continuous import detect_rolls as detect_rolls
    from cnfutures.frames.exchange_files import read_option_daily as read_option_daily
    from cnfutures.frames.io import read_exchange_daily as read_exchange_daily
    from cnfutures.frames.io import read_futures as read_futures
    from cnfutures.frames.io import read_fx as read_fx
    from cnfutures.frames.io import read_intraday as read_intraday
    from cnfutures.frames.io import read_spot as read_spot
    from cnfutures.frames.io import write_parquet as write_parquet
    from cnfutures.frames.roll import RollRule as RollRule
    from cnfutures.frames.roll import roll_schedule as roll_schedule
    from cnfutures.frames.schema import SeriesMeta as SeriesMeta
    from cnfutures.frames.schema import contract_info as contract_info
    from cnfutures.frames.settlement import daily_from_bars as daily_from_bars
    from cnfutures.frames.settlement import settlement_price as settlement_price
    from cnfutures.frames.validate import ValidationReport as ValidationReport
    from cnfutures.frames.validate import check_futures as check_futures
    from cnfutures.frames.validate import validate_continuous as validate_continuous
    from cnfutures.frames.validate import validate_futures as validate_futures
    from cnfutures.frames.validate import validate_fx as validate_fx
    from cnfutures.frames.validate import validate_intraday as validate_intraday
    from cnfutures.frames.validate import validate_spot as validate_spot

"""Foreign-investor access: routes, eligibility by date, USD collateral and FX, pre-trade checks.

Every rule is dated, sourced data in ``access/data/*.toml`` with a ``verified`` flag; rules
resting on unverified facts are used and reported (``Eligibility.unverified``,
``Decision.unverified``).

Examples
--------
>>> from cnfutures.access import Investor, eligible
>>> eligible(Investor("qfi"), "ru", "2025-06-20").allowed
True
"""

from __future__ import annotations

from cnfutures.access.checks import Account, Decision, Order, Reason, check_order
from cnfutures.access.collateral import (
    HaircutRule,
    MarginRequirement,
    cny_to_usd,
    collateral_value_cny,
    default_haircut,
    fx_rate,
    haircut_rule,
    margin_requirement,
    read_fred_usd_cny,
    revalue_collateral,
    usd_needed_for_cny,
    usd_to_cny,
    validate_fx,
)
from cnfutures.access.eligibility import (
    Eligibility,
    Finding,
    contract_eligible,
    eligible,
    first_allowed,
    individual_exit_start,
    must_exit_before_stage,
    route_at_exchange,
)
from cnfutures.access.investor import Investor, Route
from cnfutures.access.summary import (
    access_summary,
    format_access_summary,
    minimum_funds,
    routes_markdown,
    routes_since,
    tax_treatment,
)

__all__ = [
    "Account",
    "Decision",
    "Eligibility",
    "Finding",
    "HaircutRule",
    "Investor",
    "MarginRequirement",
    "Order",
    "Reason",
    "Route",
    "access_summary",
    "check_order",
    "cny_to_usd",
    "collateral_value_cny",
    "contract_eligible",
    "default_haircut",
    "eligible",
    "first_allowed",
    "format_access_summary",
    "fx_rate",
    "haircut_rule",
    "individual_exit_start",
    "margin_requirement",
    "minimum_funds",
    "must_exit_before_stage",
    "read_fred_usd_cny",
    "revalue_collateral",
    "route_at_exchange",
    "routes_markdown",
    "routes_since",
    "tax_treatment",
    "usd_needed_for_cny",
    "usd_to_cny",
    "validate_fx",
]

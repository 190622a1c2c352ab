"""QuantLib reference prices shared by the tests (QuantLib is a test-only peer)."""

from __future__ import annotations


def ql_american(ql, F, K, days, r, s, w, engine, steps=0):  # type: ignore[no-untyped-def]
    """QuantLib price of an American option on a futures contract (b = 0: dividend yield = r).

    ``days`` to expiry on Actual/365 with no calendar; ``engine``: "baw", "bjs", "fd", "qdfp",
    or a binomial tree name ("crr", "lr", ...) with ``steps``.
    """
    today = ql.Date(2, 1, 2025)
    ql.Settings.instance().evaluationDate = today
    dc = ql.Actual365Fixed()
    spot = ql.QuoteHandle(ql.SimpleQuote(F))
    rts = ql.YieldTermStructureHandle(ql.FlatForward(today, r, dc))
    vts = ql.BlackVolTermStructureHandle(ql.BlackConstantVol(today, ql.NullCalendar(), s, dc))
    proc = ql.BlackScholesMertonProcess(spot, rts, rts, vts)  # dividend yield = r: b = 0
    opt = ql.VanillaOption(
        ql.PlainVanillaPayoff(ql.Option.Call if w > 0 else ql.Option.Put, K),
        ql.AmericanExercise(today, today + int(days)),
    )
    if engine == "baw":
        e = ql.BaroneAdesiWhaleyApproximationEngine(proc)
    elif engine == "bjs":
        e = ql.BjerksundStenslandApproximationEngine(proc)
    elif engine == "fd":
        e = ql.FdBlackScholesVanillaEngine(proc, 800, 800)
    elif engine == "qdfp":  # Andersen-Lake-Offengenden fixed-point method, ~1e-10 accurate
        e = ql.QdFpAmericanEngine(proc, ql.QdFpAmericanEngine.highPrecisionScheme())
    else:
        e = ql.BinomialVanillaEngine(proc, engine, steps)
    opt.setPricingEngine(e)
    return opt.NPV()

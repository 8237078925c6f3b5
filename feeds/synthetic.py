"""A seeded synthetic multi-venue market: K venues quoting one stock around a shared efficient price.

The model, in a few lines:

- One efficient price follows a Gaussian random walk on a grid of 1/100 tick,
  with the volatility of ``daily_volatility`` spread over a 6.5-hour day.
- Every venue keeps its own 10+ level book on the tick grid. Book events
  arrive as one Poisson-like stream (``rows_per_second`` in total, exactly
  ``round(rows_per_second * seconds)`` rows) and each is assigned to a venue
  by its activity share, so venues update at different rates and their
  timestamps never coincide.
- An event is one of: a limit order inside a spread of two ticks or more
  (bringing it back toward one tick); a marketable order that trades against
  the national best price (action ``T``, side the aggressor: ``B`` buy, ``A``
  sell, one level at most; the row shows the book after the trade, whereas
  Databento's MBP files show it before and the effect on the next row); a
  limit order added at or behind the best; a cancel at or behind the best.
- Re-centering: the further the efficient price is from the quotes, the
  likelier trades are and the more they lean its way; spread improvements
  come from its side, and a best quote left on the wrong side of it fades
  (is cancelled whole). Orders arriving at a venue behind the national best
  join it there.
- Venues are coupled as under Reg NMS: no venue posts a bid at or above
  another venue's best ask (or an ask at or below a best bid), and a
  marketable order goes to the first venue showing the national best. A
  quiet venue lags behind, so venues are sometimes at different prices;
  within a venue the book is never locked or crossed.
- The displayed size at the best bid shrinks only through cancels and sell
  trades at that price and grows only through orders added there, so the
  bid-queue outflow a strategy estimates from the data is real.

Random numbers are drawn up front from one ``numpy.random.Generator(PCG64(seed))``;
the per-event loop works on plain Python lists of ints, so 52,000 events take
a fraction of a second.
"""

from __future__ import annotations

import math
from decimal import Decimal

import attrs
import numpy as np

from feeds.market import LEVELS, MarketData, price_to_units
from feeds.timeparse import parse_ns

#: Databento publisher ids of US equity venues, in the order venues are added.
VENUE_IDS = (2, 5, 38, 43, 9, 15, 8, 6, 7, 3, 4, 10, 11, 12)
VENUE_NAMES = {
    2: "XNAS",
    5: "BATS",
    38: "IEXG",
    43: "ARCX",
    9: "XNYS",
    15: "MEMX",
    8: "EDGX",
    6: "BATY",
    7: "EDGA",
    3: "XBOS",
    4: "XPSX",
    10: "XCIS",
    11: "XASE",
    12: "XCHI",
}
_REBATES = (0.0029, 0.0025, 0.0020, 0.0032, 0.0027, 0.0024, 0.0030, 0.0022, 0.0021, 0.0026, 0.0028, 0.0023)
_LATENCY_US = (150, 250, 600, 350, 450, 300, 200, 400, 500, 550, 100, 280)
_ACTIVITY = (0.36, 0.24, 0.10, 0.18, 0.12, 0.08, 0.10, 0.05, 0.04, 0.03, 0.03, 0.02, 0.02, 0.02)

TAKER_FEE_PER_SHARE = 0.0030
_SECONDS_PER_DAY = 6.5 * 3600
_FINE = 100  # efficient-price grid steps per tick
_DEPTH_MIN, _DEPTH_MAX = LEVELS, LEVELS + 2
_KAPPA = 2.0  # how sharply flow leans toward the efficient price, per tick of gap
_P_IMPROVE = 0.9  # chance an event at a wide venue is an order inside the spread
_P_ADD = 0.52  # share of adds among the remaining add/cancel events
_P_AT_BEST = 0.4  # chance an add or cancel goes to the best level
_PRESSURE = 2.0  # extra trading per tick the efficient price sits beyond the national quotes
_MAX_TRADE = 0.4  # cap on the chance an event is a trade
_FADE_GAP = 0.5  # ticks between efficient price and mid beyond which the stale best quote fades


def default_venue_settings(k: int) -> list[dict]:
    """Return the default settings of the first ``k`` venues.

    Each dict has ``venue`` (Databento publisher id), ``name``, ``fee_per_share``
    (taker, dollars), ``rebate_per_share`` (maker, dollars), ``latency_ns``
    (order entry latency) and ``activity_share`` (the venue's share of book
    updates; the shares sum to 1).

    Raises
    ------
    ValueError
        When ``k`` is not between 1 and ``len(VENUE_IDS)``.
    """
    if not 1 <= k <= len(VENUE_IDS):
        raise ValueError(f"venues must be between 1 and {len(VENUE_IDS)}, got {k}")
    weights = _ACTIVITY[:k]
    total = sum(weights)
    return [
        {
            "venue": VENUE_IDS[i],
            "name": VENUE_NAMES[VENUE_IDS[i]],
            "fee_per_share": TAKER_FEE_PER_SHARE,
            "rebate_per_share": _REBATES[i % len(_REBATES)],
            "latency_ns": _LATENCY_US[i % len(_LATENCY_US)] * 1000,
            "activity_share": weights[i] / total,
        }
        for i in range(k)
    ]


#: Rows a synthetic market may have: generating one holds about 1 kB per row in Python lists.
MAX_ROWS = 2_000_000
#: How long a market may be, in seconds (one calendar day).
MAX_SECONDS = 86_400.0
#: The price grid: a market quotes between this many ticks (the efficient price is held on a
#: grid 100 times finer, as float64, which is exact below 2**53).
MIN_TICKS, MAX_TICKS = 10, 10**9
#: The books move a tick per event at most: a faster efficient price leaves them behind.
MAX_TICKS_PER_EVENT = 1.0
_NS = 10**9


def _in_range(low: float, high: float, *, open_low: bool = False):
    """Validator: ``low <= value <= high`` (``low < value`` when ``open_low``); NaN never passes."""
    rule = f"> {low:g} and <= {high:g}" if open_low else f"between {low:g} and {high:g}"

    def check(_instance, attribute, value) -> None:
        ok = (value > low if open_low else value >= low) and value <= high
        if not ok:
            raise ValueError(f"{attribute.name} must be {rule}, got {value!r}")

    return check


def _timestamp(instance, attribute, value) -> None:
    parse_ns(value)


def _symbol(instance, attribute, value) -> None:
    if not 1 <= len(value) <= 32 or not value.isprintable() or value.strip() != value:
        raise ValueError(
            f"symbol must be 1 to 32 printable characters without spaces at the ends, got {value!r}"
        )


@attrs.frozen(kw_only=True)
class SynthConfig:
    """The knobs of a synthetic market; every field has a default like a liquid ~$200 stock.

    Field converters accept strings, so ``SynthConfig(venues="3")`` works. Valid ranges
    (checked here, so a bad ``synthetic:`` spec fails when it is read):

    ==================  ===============================================================
    venues              1 to 14 (the publishers in ``VENUE_IDS``)
    seconds             > 0 and <= 86,400; ``round(rows_per_second * seconds)`` rows,
                        at most ``MAX_ROWS`` (2,000,000)
    seed                0 to 2**63 - 1
    start               an ISO-8601 timestamp; ``start + seconds`` before 2262
    mid_price           > 0 and <= 1,000,000 dollars, 10 to 10**9 ticks
    tick                >= 0.000000001 dollars, a multiple of it (nine decimals)
    rows_per_second     > 0 and <= 1,000,000
    daily_volatility    0 to 0.2 (a fraction of the price per 6.5-hour day), and the
                        efficient price moves at most one tick per event on average:
                        ``mid_price * daily_volatility / tick
                        / sqrt(23400 * rows_per_second) <= 1`` (0.16 by default)
    trade_share         0 to 1
    odd_lot_share       0 to 1
    symbol              1 to 32 printable characters
    ==================  ===============================================================
    """

    venues: int = attrs.field(default=3, converter=int, validator=_in_range(1, len(VENUE_IDS)))
    seconds: float = attrs.field(
        default=522.0, converter=float, validator=_in_range(0, MAX_SECONDS, open_low=True)
    )
    seed: int = attrs.field(default=7, converter=int, validator=_in_range(0, 2**63 - 1))
    start: str = attrs.field(default="2024-08-01T13:36:32Z", converter=str, validator=_timestamp)
    mid_price: float = attrs.field(default=200.0, converter=float, validator=_in_range(0, 1e6, open_low=True))
    tick: float = attrs.field(default=0.01, converter=float, validator=_in_range(1e-9, 1e6))
    rows_per_second: float = attrs.field(
        default=100.0, converter=float, validator=_in_range(0, 1e6, open_low=True)
    )
    daily_volatility: float = attrs.field(default=0.012, converter=float, validator=_in_range(0, 0.2))
    trade_share: float = attrs.field(default=0.06, converter=float, validator=_in_range(0, 1))
    odd_lot_share: float = attrs.field(default=0.15, converter=float, validator=_in_range(0, 1))
    symbol: str = attrs.field(default="SYN", converter=str, validator=_symbol)

    def __attrs_post_init__(self) -> None:
        units = Decimal(repr(self.tick)) * _NS
        if units != units.to_integral_value():
            raise ValueError(
                f"tick must be a whole number of 1e-9 dollars (nine decimals), got {self.tick!r}"
            )
        ticks = self.mid_price / self.tick
        if not MIN_TICKS <= ticks <= MAX_TICKS:
            raise ValueError(
                f"mid_price / tick must be {MIN_TICKS} to {MAX_TICKS:g} ticks, got {ticks:g} "
                f"(mid_price={self.mid_price!r}, tick={self.tick!r})"
            )
        move = (
            self.mid_price
            * self.daily_volatility
            / self.tick
            / math.sqrt(_SECONDS_PER_DAY * self.rows_per_second)
        )
        if move > MAX_TICKS_PER_EVENT:
            raise ValueError(
                f"the efficient price would move {move:.3g} ticks per event, more than {MAX_TICKS_PER_EVENT} "
                f"(mid_price * daily_volatility / tick / sqrt(23400 * rows_per_second)): "
                "raise tick or rows_per_second, or lower daily_volatility"
            )
        rows = round(self.rows_per_second * self.seconds)
        if rows > MAX_ROWS:
            raise ValueError(
                f"rows_per_second * seconds must be at most {MAX_ROWS:,} rows, got {rows:,} "
                f"(rows_per_second={self.rows_per_second!r}, seconds={self.seconds!r})"
            )
        if parse_ns(self.start) + round(self.seconds * _NS) + 10**9 >= 2**63:
            raise ValueError(f"start + seconds must be before 2262, got start={self.start!r}")


def _lots(rng: np.random.Generator, n: int, odd_share: float) -> np.ndarray:
    # Mostly round lots (100, sometimes 200-500), some odd lots of 1-99 shares.
    round_lots = 100 * np.minimum(rng.geometric(0.55, size=n), 5)
    odd = rng.integers(1, 100, size=n)
    return np.where(rng.random(n) < odd_share, odd, round_lots)


def _event_times(rng: np.random.Generator, n: int, span_ns: int) -> np.ndarray:
    times = np.sort(rng.integers(0, max(span_ns, n), size=n))
    # Nudge ties apart so every row has its own timestamp.
    shift = np.arange(n)
    return np.maximum.accumulate(times - shift) + shift


def generate(config: SynthConfig | None = None) -> MarketData:
    """Generate a synthetic multi-venue market.

    Parameters
    ----------
    config
        The market's settings; ``SynthConfig()`` when omitted.

    Returns
    -------
    MarketData
        ``round(rows_per_second * seconds)`` rows in ``ts_event`` order with 10
        levels, venue ids from ``VENUE_IDS``; identical for identical configs.
    """
    cfg = config if config is not None else SynthConfig()
    rng = np.random.Generator(np.random.PCG64(cfg.seed))
    settings = default_venue_settings(cfg.venues)
    k = cfg.venues
    n = max(0, round(cfg.rows_per_second * cfg.seconds))
    tick_units = price_to_units(Decimal(repr(cfg.tick)))
    start_ns = parse_ns(cfg.start)

    times = _event_times(rng, n, round(cfg.seconds * 1e9))
    venue_of = rng.choice(k, size=n, p=[s["activity_share"] for s in settings])
    sigma_ticks = cfg.mid_price * cfg.daily_volatility / math.sqrt(_SECONDS_PER_DAY) / cfg.tick
    dt_s = np.diff(times, prepend=0) / 1e9
    steps = np.rint(rng.standard_normal(n) * sigma_ticks * np.sqrt(dt_s) * _FINE).astype(np.int64)
    mid_ticks = round(cfg.mid_price / cfg.tick)
    # The initial books quote mid_ticks - 1 / mid_ticks, so their mid is half a tick below
    # mid_ticks: the efficient price starts there, or the first seconds drift up to meet it.
    efficient = (mid_ticks * _FINE - _FINE // 2 + np.cumsum(steps)) / _FINE

    books = _initial_books(rng, k, mid_ticks, cfg.odd_lot_share)
    columns = _run(
        books=books,
        venue_of=venue_of.tolist(),
        efficient=efficient.tolist(),
        uniforms=rng.random((n, 4)).tolist(),
        lots=_lots(rng, n, cfg.odd_lot_share).tolist(),
        depths=np.minimum(rng.geometric(0.35, size=n) - 1, _DEPTH_MIN - 1).tolist(),
        refills=(100 * rng.integers(1, 7, size=n) + _lots(rng, n, cfg.odd_lot_share)).tolist(),
        trade_share=cfg.trade_share,
    )
    venue_index, action, side, price, size, bid_px, bid_sz, ask_px, ask_sz = columns
    if bid_px and min(bid_px) <= 0:
        # Possible only for a very volatile, very long market quoted on few ticks.
        raise ValueError(
            f"synthetic market: the price walked down to zero (mid_price={cfg.mid_price!r}, "
            f"daily_volatility={cfg.daily_volatility!r}, seconds={cfg.seconds!r}): "
            "lower the volatility or the span"
        )
    venue_index = np.array(venue_index, dtype=np.int64)
    venue_ids = np.array([s["venue"] for s in settings], dtype=np.int64)
    ts_event = start_ns + times
    # Feed delay: tens of microseconds, a little more for the later venues, with jitter.
    delay = 20_000 + 15_000 * venue_index + rng.integers(0, 5_000, size=n)
    return MarketData(
        ts_event=ts_event,
        ts_recv=ts_event + delay,
        venue=venue_ids[venue_index],
        action=np.frombuffer(bytes(action), dtype=np.uint8),
        side=np.frombuffer(bytes(side), dtype=np.uint8),
        price=np.array(price, dtype=np.int64) * tick_units,
        size=size,
        bid_px=np.array(bid_px, dtype=np.int64).reshape(n, LEVELS) * tick_units,
        bid_sz=np.array(bid_sz, dtype=np.int64).reshape(n, LEVELS),
        ask_px=np.array(ask_px, dtype=np.int64).reshape(n, LEVELS) * tick_units,
        ask_sz=np.array(ask_sz, dtype=np.int64).reshape(n, LEVELS),
        source=f"synthetic:venues={cfg.venues},seconds={cfg.seconds:g},seed={cfg.seed}",
        symbol=cfg.symbol,
        rows_read=n,
        dropped={},
    )


def _initial_books(
    rng: np.random.Generator, k: int, mid_ticks: int, odd_share: float
) -> list[list[list[int]]]:
    books = []
    for _ in range(k):
        best_bid = mid_ticks - 1
        sizes = (
            100 * rng.integers(1, 7, size=2 * _DEPTH_MIN) + _lots(rng, 2 * _DEPTH_MIN, odd_share)
        ).tolist()
        books.append(
            [
                [best_bid - j for j in range(_DEPTH_MIN)],
                sizes[:_DEPTH_MIN],
                [best_bid + 1 + j for j in range(_DEPTH_MIN)],
                sizes[_DEPTH_MIN:],
            ]
        )
    return books


_A, _B, _C, _T = ord("A"), ord("B"), ord("C"), ord("T")


def _run(
    *,
    books: list[list[list[int]]],
    venue_of: list[int],
    efficient: list[float],
    uniforms: list[list[float]],
    lots: list[int],
    depths: list[int],
    refills: list[int],
    trade_share: float,
) -> tuple:
    # The hot loop: plain lists and ints only. Book sides are price lists (bids
    # descending, asks ascending) with matching size lists; index 0 is the best.
    # Venues are coupled as under Reg NMS: no venue posts a bid at or above another
    # venue's best ask (or an ask at or below a best bid), and a marketable order
    # trades only at the national best price, at the first venue showing it.
    n = len(venue_of)
    venue_out = list(venue_of)
    action = bytearray(n)
    side = bytearray(n)
    price = [0] * n
    size = [0] * n
    out_bp: list[int] = []
    out_bs: list[int] = []
    out_ap: list[int] = []
    out_as: list[int] = []
    best_bids = [b[0][0] for b in books]
    best_asks = [b[2][0] for b in books]
    exp = math.exp
    refill_at = 0
    for i in range(n):
        v = venue_of[i]
        bp, bs, ap, az = books[v]
        u_kind, u_side, u_trade, u_add = uniforms[i]
        best_bid, best_ask = bp[0], ap[0]
        national_bid, national_ask = max(best_bids), min(best_asks)
        gap = efficient[i] - 0.5 * (best_bid + best_ask)
        lot = lots[i]
        improve = best_ask - best_bid >= 2 and u_kind < _P_IMPROVE
        bid_ok = improve and best_bid + 1 < national_ask
        ask_ok = improve and best_ask - 1 > national_bid
        if bid_ok and (u_side < 1.0 / (1.0 + exp(-_KAPPA * gap)) or not ask_ok):
            # A limit order inside a wide spread, preferably from the side the efficient
            # price favours, never locking another venue's quote.
            bp.insert(0, best_bid + 1)
            bs.insert(0, lot)
            action[i], side[i], price[i], size[i] = _A, _B, best_bid + 1, lot
        elif ask_ok:
            ap.insert(0, best_ask - 1)
            az.insert(0, lot)
            action[i], side[i], price[i], size[i] = _A, _A, best_ask - 1, lot
        else:
            national_gap = efficient[i] - 0.5 * (national_bid + national_ask)
            if u_trade < min(_MAX_TRADE, trade_share * (1.0 + _PRESSURE * max(0.0, abs(national_gap) - 0.5))):
                if u_side < 1.0 / (1.0 + exp(-_KAPPA * national_gap)):
                    # A buyer lifts the national best ask.
                    if best_ask != national_ask:
                        v = best_asks.index(national_ask)
                        bp, bs, ap, az = books[v]
                    qty = min(lot, az[0])
                    action[i], side[i], price[i], size[i] = _T, _B, national_ask, qty
                    az[0] -= qty
                    if az[0] == 0:
                        del ap[0], az[0]
                else:
                    # A seller hits the national best bid.
                    if best_bid != national_bid:
                        v = best_bids.index(national_bid)
                        bp, bs, ap, az = books[v]
                    qty = min(lot, bs[0])
                    action[i], side[i], price[i], size[i] = _T, _A, national_bid, qty
                    bs[0] -= qty
                    if bs[0] == 0:
                        del bp[0], bs[0]
                venue_out[i] = v
            elif u_add < _P_ADD:
                level = 0 if u_kind < _P_AT_BEST else depths[i]
                if u_side < 0.5:
                    if level == 0 and best_bid < national_bid:
                        # A venue behind the national best bid gets orders joining it.
                        bp.insert(0, national_bid)
                        bs.insert(0, 0)
                    level = min(level, len(bp) - 1)
                    bs[level] += lot
                    action[i], side[i], price[i] = _A, _B, bp[level]
                else:
                    if level == 0 and best_ask > national_ask:
                        ap.insert(0, national_ask)
                        az.insert(0, 0)
                    level = min(level, len(ap) - 1)
                    az[level] += lot
                    action[i], side[i], price[i] = _A, _A, ap[level]
                size[i] = lot
            else:
                # Stale quotes get cancelled: bids when the efficient price is below the mid.
                level = 0 if u_kind < _P_AT_BEST else depths[i]
                if u_side >= 1.0 / (1.0 + exp(-_KAPPA * gap)):
                    pxs, szs, code = bp, bs, _B
                else:
                    pxs, szs, code = ap, az, _A
                level = min(level, len(pxs) - 1)
                qty = min(lot, szs[level])
                if level == 0 and abs(gap) > _FADE_GAP and (code == _B) == (gap < 0):
                    # A quote left on the wrong side of the efficient price fades entirely.
                    qty = szs[0]
                action[i], side[i], price[i], size[i] = _C, code, pxs[level], qty
                szs[level] -= qty
                if szs[level] == 0:
                    del pxs[level], szs[level]
        # Keep 10 to 12 levels a side: refill at the back, trim what nobody sees.
        while len(bp) < _DEPTH_MIN:
            bp.append(bp[-1] - 1)
            bs.append(refills[refill_at % n])
            refill_at += 1
        while len(ap) < _DEPTH_MIN:
            ap.append(ap[-1] + 1)
            az.append(refills[refill_at % n])
            refill_at += 1
        if len(bp) > _DEPTH_MAX:
            del bp[_DEPTH_MAX:], bs[_DEPTH_MAX:]
        if len(ap) > _DEPTH_MAX:
            del ap[_DEPTH_MAX:], az[_DEPTH_MAX:]
        best_bids[v] = bp[0]
        best_asks[v] = ap[0]
        out_bp += bp[:_DEPTH_MIN]
        out_bs += bs[:_DEPTH_MIN]
        out_ap += ap[:_DEPTH_MIN]
        out_as += az[:_DEPTH_MIN]
    return venue_out, action, side, price, size, out_bp, out_bs, out_ap, out_as

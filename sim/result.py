"""The result of a run as typed values: what each strategy lane did, the sweep, the comparison.

Money is integer 1e-9 dollars (Python ints: nothing overflows); the JSON written for
users is built from these values in one place, ``sim.result_json``. ``cash`` is what
a lane paid for a buy and what it received for a sell; ``cash_at_target`` takes the
shares beyond the target off at the closing touch they would unwind into (a buy's
excess sold back at the best bid, a sell's bought back at the best ask), so that lanes
which overfilled are compared on exactly the target (``sim.results.compare``), and an
overfill costs at least the spread it would cross.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import attrs

from feeds.market import units_to_decimal
from sim.ledger import Ledger
from sim.results import avg_price


@attrs.frozen
class VenueTotals:
    """What one lane did at one venue: shares, cash (1e-9 dollars), maker shares."""

    shares: int
    cash: int
    maker_shares: int


@attrs.frozen
class FillRecord:
    """One fill of one lane, as booked: time, venue id, price and fees in 1e-9 dollars."""

    ts_ns: int
    venue: int
    price: int
    size: int
    liquidity: str
    fee: int
    rebate: int
    catch_up: bool
    queue_ahead: int | None


@attrs.frozen
class LaneResult:
    """Everything one strategy lane (one parameter set) did over the window."""

    kind: str
    parameters: dict[str, Any]
    target: int
    filled_shares: int
    cash: int
    notional: int
    fees: int
    rebates: int
    catch_up_shares: int
    maker_shares: int
    unwind_px: int | None
    by_venue: dict[int, VenueTotals]
    fills: tuple[FillRecord, ...] | None = None

    @property
    def overfill_shares(self) -> int:
        return max(self.filled_shares - self.target, 0)

    @property
    def taker_shares(self) -> int:
        return self.filled_shares - self.maker_shares

    @property
    def complete(self) -> bool:
        return self.filled_shares >= self.target

    @property
    def cash_at_target_units(self) -> int:
        """``cash`` less the overfill valued at ``unwind_px`` (at the lane's own average when none)."""
        over = self.overfill_shares
        if not over:
            return self.cash
        if self.unwind_px is None:
            return self.cash - over * self.cash // self.filled_shares
        return self.cash - over * self.unwind_px

    # The figures compared, in dollars, under the names the JSON uses.
    @property
    def total_cash(self) -> Decimal:
        return units_to_decimal(self.cash)

    @property
    def cash_at_target(self) -> Decimal:
        return units_to_decimal(self.cash_at_target_units)

    @property
    def avg_fill_px(self) -> Decimal | None:
        return avg_price(self.cash, self.filled_shares)

    @classmethod
    def from_ledger(
        cls,
        ledger: Ledger,
        lane: int,
        *,
        kind: str,
        parameters: dict[str, Any],
        venue_ids: tuple[int, ...],
        target: int,
        unwind_px: int | None,
        with_fills: bool = True,
    ) -> LaneResult:
        """Read one lane out of a strategy's ledger."""
        fills = None
        if with_fills:
            fills = tuple(
                FillRecord(
                    ts_ns=int(f.ts),
                    venue=venue_ids[f.venue],
                    price=int(f.price),
                    size=int(f.qty[lane]),
                    liquidity=f.liquidity.value,
                    fee=int(f.fee_per_share) * int(f.qty[lane]),
                    rebate=int(f.rebate_per_share) * int(f.qty[lane]),
                    catch_up=bool(f.catch_up),
                    queue_ahead=None if f.queue_ahead is None else int(f.queue_ahead[lane]),
                )
                for f in ledger.fills
                if f.qty[lane] > 0
            )
        return cls(
            kind=kind,
            parameters=dict(parameters),
            target=int(target),
            filled_shares=int(ledger.filled[lane]),
            cash=int(ledger.cash[lane]),
            notional=int(ledger.notional[lane]),
            fees=int(ledger.fees[lane]),
            rebates=int(ledger.rebates[lane]),
            catch_up_shares=int(ledger.catch_up[lane]),
            maker_shares=int(ledger.maker[lane]),
            unwind_px=unwind_px,
            by_venue={
                v: VenueTotals(
                    shares=int(ledger.venue_shares[lane, k]),
                    cash=int(ledger.venue_cash[lane, k]),
                    maker_shares=int(ledger.venue_maker[lane, k]),
                )
                for k, v in enumerate(venue_ids)
            },
            fills=fills,
        )


@attrs.frozen
class SweepResult:
    """A parameter sweep of one strategy: one lane per parameter set, and the one chosen."""

    strategy: str
    names: tuple[str, ...]
    method: str
    parameters: tuple[dict[str, Any], ...]
    lanes: tuple[LaneResult, ...]
    chosen: int

    @property
    def distinct_total_cash(self) -> int:
        return len({lane.cash for lane in self.lanes})


@attrs.frozen
class RunResult:
    """One run: the order, every strategy's chosen lane, the sweep, the comparison and the context."""

    side: str
    target: int
    strategies: dict[str, LaneResult]
    sweep: SweepResult | None
    optimized: str
    baselines: dict[str, str]
    savings_bps: dict[str, Decimal | None]
    savings_basis: dict[str, str]
    market: dict[str, Any]
    data: dict[str, Any]
    venues: dict[str, Any]
    scenario: dict[str, Any]
    walk_forward: dict[str, Any] | None = None
    #: How the order was sized, when not by a fixed quantity (the result's ``order`` block).
    order: dict[str, Any] | None = None

    @property
    def best_parameters(self) -> dict[str, Any]:
        if self.sweep is not None and self.sweep.strategy == self.optimized:
            return self.sweep.parameters[self.sweep.chosen]
        return self.strategies[self.optimized].parameters

"""The FIFO ground truth: hand-made MBO sequences worked out by hand, and a per-share FIFO reference."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from feeds.mbo import F_LAST, F_SNAPSHOT, MboEvents
from venues.fifo_truth import NOT_FILLED, book_history, true_fills

P = 100  # our price (units of 1 for readability)
NEVER = 10**18


def truth(records, entry, price=P, qty=100, deadline=NEVER, probes=()):
    """Fill one virtual order on ``records``; return (first, full, ahead on entry, ahead at probes)."""
    events = MboEvents.from_records(records)
    t = true_fills(
        book_history(events),
        np.array([entry]),
        np.array([price]),
        np.array([qty]),
        np.array([deadline]),
        np.array(probes, dtype=np.int64),
        np.zeros(len(probes), dtype=np.int64),
    )
    return int(t.first[0]), int(t.full[0]), int(t.ahead_on_entry[0]), t.ahead.tolist()


def test_execution_of_the_order_ahead_moves_us_up_one_behind_fills_us():
    # Order 1 (100 at P) rests; we join at ts 2 behind it; order 2 (50) joins behind us.
    # ts 4: order 1 trades in full (T, F, C): nothing for us. ts 5: order 2 trades 30: it
    # stood behind us, those 30 would have hit us. ts 7: a bid of 10 a tick below trades:
    # that seller went through our price and reaches us first: 10 more (40 of 100).
    records = [
        (1, "A", "B", P, 100, 1),
        (3, "A", "B", P, 50, 2),
        (4, "T", "A", P, 100, 0, 0),
        (4, "F", "B", P, 100, 1, 0),
        (4, "C", "B", P, 100, 1),
        (5, "T", "A", P, 30, 0, 0),
        (5, "F", "B", P, 30, 2, 0),
        (5, "M", "B", P, 20, 2),
        (6, "A", "B", P - 1, 10, 3),
        (7, "T", "A", P - 1, 10, 0, 0),
        (7, "F", "B", P - 1, 10, 3, 0),
        (7, "C", "B", P - 1, 10, 3),
    ]
    assert truth(records, entry=2, probes=(3, 4)) == (5, NOT_FILLED, 100, [100, 0])
    assert truth(records, entry=2, qty=40) == (5, 7, 100, [])
    # With a deadline at 6 the sale a tick below comes too late.
    assert truth(records, entry=2, qty=40, deadline=6) == (5, NOT_FILLED, 100, [])


def test_ask_placed_at_or_below_our_price_fills_up_to_its_size():
    # A sell of 5 placed at our bid trades with us: 5 of 100; one of 200 a tick below: 95 more.
    records = [
        (1, "A", "B", P, 100, 1),
        (3, "A", "A", P + 1, 5, 2),
        (4, "A", "A", P, 5, 3),
        (6, "A", "A", P - 1, 200, 4),
    ]
    assert truth(records, entry=2) == (4, 6, 100, [])


def test_ask_moved_down_to_our_price_offers_its_size_once():
    # An ask of 7 moves from P + 1 down to P: 7 fill us. It then shrinks to 3 (nothing new),
    # grows to 9 (6 new shares at P), and moves to P - 1 keeping 9 (already ours: nothing).
    records = [
        (1, "A", "A", P + 1, 7, 5),
        (3, "M", "A", P, 7, 5),
        (4, "M", "A", P, 3, 5),
        (5, "M", "A", P, 9, 5),
        (6, "M", "A", P - 1, 9, 5),
    ]
    first, full, _, _ = truth(records, entry=2, qty=14)
    assert (first, full) == (3, NOT_FILLED)
    assert truth(records, entry=2, qty=13)[:2] == (3, 5)


def test_order_that_grows_loses_its_place_and_one_that_shrinks_keeps_it():
    # Order 1 (100) and order 2 (10) are ahead of us. Order 1 grows to 150: it now stands
    # behind us; order 2 shrinks to 4 and stays ahead. Queue ahead: 110 -> 10 -> 4.
    records = [
        (1, "A", "B", P, 100, 1),
        (1, "A", "B", P, 10, 2),
        (3, "M", "B", P, 150, 1),
        (4, "M", "B", P, 4, 2),
        (5, "T", "A", P, 4, 0, 0),
        (5, "F", "B", P, 4, 2, 0),  # order 2, ahead: moves us to the front
        (5, "C", "B", P, 4, 2),
        (6, "T", "A", P, 40, 0, 0),
        (6, "F", "B", P, 40, 1, 0),  # order 1, now behind us: fills us with 40
        (6, "M", "B", P, 110, 1),
    ]
    assert truth(records, entry=2, probes=(3, 4, 5)) == (6, NOT_FILLED, 110, [10, 4, 0])


def test_modify_to_another_price_and_back_loses_priority():
    records = [
        (1, "A", "B", P, 5, 1),
        (3, "M", "B", P - 1, 5, 1),
        (4, "M", "B", P, 5, 1),
        (5, "T", "A", P, 5, 0, 0),
        (5, "F", "B", P, 5, 1, 0),
        (5, "C", "B", P, 5, 1),
    ]
    assert truth(records, entry=2, probes=(3, 4)) == (5, NOT_FILLED, 5, [0, 0])


def test_level_that_vanishes_by_cancels_fills_nobody():
    # Everyone ahead cancels and the best bid falls below us: no fill, 0 ahead. A bid that
    # joins later behind us and trades fills us.
    records = [
        (1, "A", "B", P, 30, 1),
        (1, "A", "B", P - 1, 30, 2),
        (3, "C", "B", P, 30, 1),
        (4, "A", "B", P, 5, 3),
        (5, "T", "A", P, 2, 0, 0),
        (5, "F", "B", P, 2, 3, 0),
        (5, "M", "B", P, 3, 3),
    ]
    assert truth(records, entry=2, probes=(3, 4)) == (5, NOT_FILLED, 30, [0, 0])
    assert truth(records[:3], entry=2) == (NOT_FILLED, NOT_FILLED, 30, [])


def test_hidden_trade_and_ask_side_fills_touch_no_bid():
    records = [
        (1, "A", "B", P, 100, 1),
        (1, "A", "A", P + 1, 10, 2),
        (3, "T", "N", P, 50, 0),  # a hidden (midpoint) execution: no F, no displayed order
        (4, "T", "B", P + 1, 10, 0, 0),
        (4, "F", "A", P + 1, 10, 2, 0),  # a buyer took the ask
        (4, "C", "A", P + 1, 10, 2),
    ]
    assert truth(records, entry=2)[:2] == (NOT_FILLED, NOT_FILLED)


def test_aggressors_own_fill_is_not_a_resting_bid_hit():
    # CME: bid order 7, already resting below us, is modified up through the ask at P + 1 and
    # trades as the aggressor. The T says a buyer aggressed; the F of order 7 (side B, the
    # aggressor's side) is its own fill, not a sale into a resting bid: it fills nobody. The
    # F of the resting ask is the other side.
    records = [
        (1, "A", "B", P, 10, 1),
        (1, "A", "B", P - 2, 3, 7),
        (1, "A", "A", P + 1, 2, 8),
        (3, "T", "B", P + 1, 2, 7, 0),
        (3, "F", "B", P + 1, 2, 7, 0),
        (3, "F", "A", P + 1, 2, 8, 0),
        (3, "C", "A", P + 1, 2, 8, 0),
        (3, "M", "B", P - 2, 1, 7),
    ]
    assert truth(records, entry=2)[:2] == (NOT_FILLED, NOT_FILLED)


def test_auction_fills_of_bids_below_us_fill_us():
    # The opening uncross at ts 4 prints with no aggressor (T side N) and fills resting
    # orders on both sides (F side N): the bid filled below our price would have sold to us.
    records = [
        (1, "A", "B", P - 1, 6, 1),
        (1, "A", "A", P - 1, 6, 2),
        (4, "T", "N", P - 1, 6, 0, 0),
        (4, "F", "N", P - 1, 6, 1, 0),
        (4, "F", "N", P - 1, 6, 2, 0),
        (4, "C", "B", P - 1, 6, 1, 0),
        (4, "C", "A", P - 1, 6, 2),
    ]
    assert truth(records, entry=2, qty=10)[:2] == (4, NOT_FILLED)


def test_clear_sends_every_later_order_behind_us_and_snapshot_keeps_file_order():
    # The snapshot lists order 1 then order 2 at P: we join behind both (ahead 8). After the
    # clear and a new snapshot-less add, order 3 is behind us: its fill is ours.
    records = [
        (1, "A", "B", P, 5, 1, F_SNAPSHOT),
        (1, "A", "B", P, 3, 2, F_SNAPSHOT),
        (10, "R", "N", 0, 0, 0, F_LAST),
        (11, "A", "B", P, 4, 3),
        (12, "T", "A", P, 1, 0, 0),
        (12, "F", "B", P, 1, 3, 0),
        (12, "M", "B", P, 3, 3),
    ]
    assert truth(records, entry=5, probes=(10, 11)) == (12, NOT_FILLED, 8, [0, 0])


def test_entry_after_every_record_of_its_instant():
    # We join at ts 2: order 2, added at ts 2, is ahead of us; its execution is not ours.
    records = [
        (2, "A", "B", P, 3, 2),
        (4, "T", "A", P, 3, 0, 0),
        (4, "F", "B", P, 3, 2, 0),
        (4, "C", "B", P, 3, 2),
    ]
    assert truth(records, entry=2) == (NOT_FILLED, NOT_FILLED, 3, [])


# -- against a per-share FIFO list -------------------------------------------------------------------


def reference(records, entry, price, qty, deadline, probe_ts):
    """Slow truth: every price level an explicit list of shares (one order id per share), in FIFO order.

    The virtual order is a run of ``qty`` tokens ``"us"`` appended to its level on entry;
    it fills whenever shares of an order behind its first token, or at a lower price, trade,
    or an ask reaches its price. Written apart from ``venues.fifo_truth``, from the rules.
    """
    queues: dict[tuple[str, int], list] = {}
    where: dict[int, tuple[str, int]] = {}
    ask_size: dict[int, tuple[int, int]] = {}  # ask order -> (price, size)
    joined = False
    left, first, full = qty, NOT_FILLED, NOT_FILLED
    probes = sorted((t, k) for k, t in enumerate(probe_ts))
    ahead = [NOT_FILLED] * len(probe_ts)
    aggressor = None

    def us_ahead() -> int:
        q = queues.get(("B", price), [])
        return q.index("us") if "us" in q else 0

    def fill(ts: int, shares: int) -> None:
        nonlocal left, first, full
        if left <= 0 or shares <= 0 or ts > deadline:
            return
        got = min(left, shares)
        left -= got
        first = ts if first == NOT_FILLED else first
        if left == 0:
            full = ts

    def remove(oid: int, n: int | None = None) -> None:
        q = queues[where[oid]]
        idx = [i for i, x in enumerate(q) if x == oid]
        for i in reversed(idx[: len(idx) if n is None else n]):
            del q[i]
        if oid not in q:
            del where[oid]

    def read_probes(upto: float) -> None:
        while probes and probes[0][0] < upto:
            t, k = probes.pop(0)
            if joined and first == NOT_FILLED:
                ahead[k] = us_ahead()

    for ts, act, side, px, size, oid, *_ in [(*r, 0) if len(r) == 6 else r for r in records]:
        if not joined and entry < ts:
            read_probes(entry + 1)
            queues.setdefault(("B", price), []).extend(["us"] * qty)
            joined = True
            entry_ahead = us_ahead()
        read_probes(ts)
        if act == "T":
            aggressor = (side, ts)
        elif act == "A":
            if oid in where:
                remove(oid)
            queues.setdefault((side, px), []).extend([oid] * size)
            where[oid] = (side, px)
            if side == "A":
                ask_size[oid] = (px, size)
                if joined and px <= price:
                    fill(ts, size)
        elif act == "C" and oid in where:
            have = queues[where[oid]].count(oid)
            remove(oid, min(size, have))
            if oid in ask_size:
                old_px, old_size = ask_size[oid]
                ask_size[oid] = (old_px, old_size - min(size, old_size))
        elif act == "M":
            old = where.get(oid)
            s = side if old is None else old[0]
            have = 0 if old is None else queues[old].count(oid)
            if old is not None and old == (s, px) and size <= have:
                remove(oid, have - size)
            else:
                if old is not None:
                    remove(oid)
                queues.setdefault((s, px), []).extend([oid] * size)
                where[oid] = (s, px)
            if s == "A":
                old_px, old_size = ask_size.get(oid, (None, 0))
                new = size if old_px is None or old_px > price else max(size - old_size, 0)
                if joined and px <= price:
                    fill(ts, new)
                ask_size[oid] = (px, size)
        elif act == "R":
            for key in list(queues):
                queues[key] = [x for x in queues[key] if x == "us"]
            where.clear()
            ask_size.clear()
        elif (
            act == "F" and oid in where and where[oid][0] == "B" and (aggressor != (side, ts) or side == "N")
        ):
            at = where[oid][1]
            q = queues[("B", at)]
            behind_us = at == price and "us" in q and q.index("us") < q.index(oid)
            if joined and (at < price or behind_us):
                fill(ts, size)
    if not joined:
        queues.setdefault(("B", price), []).extend(["us"] * qty)
        joined = True
        entry_ahead = us_ahead()
    read_probes(float("inf"))
    return first, full, entry_ahead, ahead


@st.composite
def mbo_streams(draw):
    """Consistent MBO records on prices 97..103: adds, cancels, modifies, clears, and executions."""
    n = draw(st.integers(1, 40))
    ts, oid = 1, 0
    live: dict[int, list] = {}  # oid -> [side, price, size]
    out = []
    for _ in range(n):
        ts += draw(st.integers(0, 2))
        kind = draw(st.sampled_from("AAACCMMFRT" if live else "AAAR"))
        if kind == "A" or not live and kind in "CMFT":
            side = draw(st.sampled_from("BA"))
            px = draw(st.integers(97, 103))
            size = draw(st.integers(1, 5))
            oid += 1
            live[oid] = [side, px, size]
            out.append((ts, "A", side, px, size, oid))
        elif kind == "C":
            o = draw(st.sampled_from(sorted(live)))
            size = draw(st.integers(1, live[o][2]))
            out.append((ts, "C", live[o][0], live[o][1], size, o))
            live[o][2] -= size
            if live[o][2] == 0:
                del live[o]
        elif kind == "M":
            o = draw(st.sampled_from(sorted(live)))
            px = draw(st.integers(97, 103))
            size = draw(st.integers(1, 6))
            out.append((ts, "M", live[o][0], px, size, o))
            live[o][1:] = [px, size]
        elif kind == "R":
            out.append((ts, "R", "N", 0, 0, 0))
            live.clear()
        else:
            # One execution: T (aggressor side), the resting order's F, its C or M; now and
            # then the aggressor's own F (CME, an order modified into a cross).
            o = draw(st.sampled_from(sorted(live)))
            side, px, size = live[o]
            take = draw(st.integers(1, size))
            auction = draw(st.integers(0, 4)) == 0  # an auction print: no aggressor, F side N
            aggressor = "N" if auction else "A" if side == "B" else "B"
            out.append((ts, "T", aggressor, px, take, 0, 0))
            own = sorted(k for k, v in live.items() if v[0] == aggressor)
            if own and draw(st.booleans()):
                out.append((ts, "F", aggressor, px, take, draw(st.sampled_from(own)), 0))
            out.append((ts, "F", "N" if auction else side, px, take, o, 0))
            if take == size:
                out.append((ts, "C", side, px, take, o))
                del live[o]
            else:
                out.append((ts, "M", side, px, size - take, o))
                live[o][2] = size - take
    return out


@settings(max_examples=300)
@given(
    records=mbo_streams(),
    entry=st.integers(0, 50),
    price=st.integers(97, 103),
    qty=st.integers(1, 8),
    wait=st.integers(0, 60),
    probe_steps=st.lists(st.integers(1, 60), max_size=4),
)
def test_truth_matches_a_per_share_fifo_reference(records, entry, price, qty, wait, probe_steps):
    probe_ts = [entry + s for s in probe_steps]
    deadline = entry + wait
    got = truth(records, entry, price=price, qty=qty, deadline=deadline, probes=sorted(probe_ts))
    want = reference(records, entry, price, qty, deadline, sorted(probe_ts))
    assert got == want

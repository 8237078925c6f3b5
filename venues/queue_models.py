"""Queue models: where in the queue the shares cancelled at our price stood.

A price-level feed shows how much rests at our price, not in what order. Trades,
joins and our own fills are FIFO facts ``venues.queue.QueueTracker`` handles
itself; the one thing it cannot see is whether a cancelled share stood ahead of
our order or behind it. A ``QueueModel`` answers that, one numpy call for every
resting order at once. The tracker clips every answer to what is feasible (no
more from ahead than is ahead, no more from behind than is behind), so a model
only chooses inside ``[max(0, cancelled - behind), min(cancelled, ahead)]``.

The models here span that range: ``FrontFirst`` (the optimistic bound),
``RiskAverse`` (the pessimistic one: cancels come from behind, hftbacktest's
``RiskAdverseQueueModel``), and in between the probability families of
hftbacktest (``ProbabilisticQueue`` is its ``PowerProbQueueFunc``,
``LogProbability`` its ``LogProbQueueFunc``) and ``Proportional``.
``venues.queue_truth`` scores them against order-by-order ground truth.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import attrs
import numpy as np

from venues.params import param


@runtime_checkable
class QueueModel(Protocol):
    """Attribute cancellations at our price to the queue ahead of us or behind us.

    The model sees only sizes: trades, joins and fills are FIFO facts handled by
    ``QueueTracker``; the one thing a price-level feed cannot tell is where in the
    queue a cancelled order stood.
    """

    def cancel_ahead(self, ahead: np.ndarray, behind: np.ndarray, cancelled: np.ndarray) -> np.ndarray:
        """Return how many of the ``cancelled`` shares left from ahead of us.

        Parameters
        ----------
        ahead, behind : numpy.ndarray
            Displayed shares ahead of and behind each of our orders (int64, one per
            slot) just before the cancellation.
        cancelled : numpy.ndarray
            Shares cancelled at the order's price (int64, positive,
            ``cancelled <= ahead + behind``).

        Returns
        -------
        numpy.ndarray
            Integer shares per slot. The tracker clips the answer to the feasible
            range ``[max(0, cancelled - behind), min(cancelled, ahead)]``.
        """
        ...


def _round_half_down(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    # Ties go behind us: the model never credits us half a share of progress.
    q, r = np.divmod(num, den)
    return q + (2 * r > den)


@attrs.frozen
class FrontFirst:
    """Cancellations leave from the front of the queue: the optimistic bound.

    Every cancelled share is taken from ahead of us while anyone is ahead, so no
    queue model fills earlier.
    """

    def cancel_ahead(self, ahead: np.ndarray, behind: np.ndarray, cancelled: np.ndarray) -> np.ndarray:
        """Return ``min(cancelled, ahead)``."""
        return np.minimum(cancelled, ahead)


@attrs.frozen
class Proportional:
    """Cancellations are spread over the queue in proportion to its size on each side of us.

    The share ahead is ``cancelled * ahead / (ahead + behind)`` rounded to the
    nearest integer, ties going behind us (round half down), computed exactly in
    integers.
    """

    def cancel_ahead(self, ahead: np.ndarray, behind: np.ndarray, cancelled: np.ndarray) -> np.ndarray:
        """Return ``cancelled * ahead / (ahead + behind)``, rounded half down."""
        total = np.maximum(ahead + behind, 1)
        return _round_half_down(cancelled * ahead, total)


@attrs.frozen
class ProbabilisticQueue:
    """Cancellations leave from ahead of us with a probability set by our place in the queue.

    With ``x = ahead / (ahead + behind)`` our relative position, a cancelled share
    is ahead of us with probability ``p(x) = x**n / (x**n + (1 - x)**n)``, where
    ``n`` is ``power`` (the power form of the queue-position literature, e.g.
    hftbacktest's power probability queue models). ``n = 1`` is ``Proportional``;
    ``n > 1`` pushes cancellations towards the longer side of the queue (deep in
    the queue most cancellations come from ahead, near its head most come from
    behind); ``n < 1`` pulls them towards an even split. The tracker uses the
    expected value ``cancelled * p(x)``, rounded to the nearest share with ties
    going behind us, so the model is deterministic.
    """

    power: float = param(2.0, lo=0.0, hi=100.0, lo_open=True, doc="n in x**n / (x**n + (1 - x)**n)")

    def __attrs_post_init__(self) -> None:
        ok = isinstance(self.power, int | float) and not isinstance(self.power, bool)
        if not (ok and 0 < self.power <= 100):
            raise ValueError(f"power must be a number in (0, 100], got {self.power!r}")

    def cancel_ahead(self, ahead: np.ndarray, behind: np.ndarray, cancelled: np.ndarray) -> np.ndarray:
        """Return ``cancelled * p(ahead / (ahead + behind))``, rounded half down."""
        a = ahead.astype(np.float64)
        b = behind.astype(np.float64)
        # p = 1 / (1 + (b/a)**n) avoids overflowing a**n for big queues.
        with np.errstate(divide="ignore"):
            ratio = np.where(a > 0, b / np.where(a > 0, a, 1.0), np.inf)
        p = np.where(a > 0, 1.0 / (1.0 + ratio**self.power), 0.0)
        return _expected(cancelled, p)


def _expected(cancelled: np.ndarray, p: np.ndarray) -> np.ndarray:
    # The expected share ahead, to the nearest share with ties going behind us.
    return np.ceil(cancelled * p - 0.5).astype(np.int64)


@attrs.frozen
class RiskAverse:
    """Cancellations leave from behind us: the pessimistic bound (hftbacktest's ``RiskAdverseQueueModel``).

    Our place only improves by trades, or when the level shrinks below the queue
    ahead of us (then the cancels must have come from ahead), so no queue model
    fills later.
    """

    def cancel_ahead(self, ahead: np.ndarray, behind: np.ndarray, cancelled: np.ndarray) -> np.ndarray:
        """Return ``max(0, cancelled - behind)``, the least that can have come from ahead."""
        return np.maximum(cancelled - behind, 0)


@attrs.frozen
class LogProbability:
    """Cancellations leave from ahead of us with probability ``f(a) / (f(a) + f(b))``, ``f(x) = log(1 + x)``.

    ``a`` and ``b`` are the shares ahead and behind (hftbacktest's
    ``LogProbQueueFunc``). Unlike the power family the split depends on the size of
    the queue, not only on our relative place in it: with 1 ahead and 3 behind
    a cancel is ahead of us with probability 0.33, with 100 ahead and 300 behind
    with 0.45. Expected value, rounded half down.
    """

    def cancel_ahead(self, ahead: np.ndarray, behind: np.ndarray, cancelled: np.ndarray) -> np.ndarray:
        """Return ``cancelled * f(ahead) / (f(ahead) + f(behind))``, rounded half down."""
        fa, fb = np.log1p(ahead.astype(np.float64)), np.log1p(behind.astype(np.float64))
        total = fa + fb
        p = np.where(total > 0, fa / np.where(total > 0, total, 1.0), 0.0)
        return _expected(cancelled, p)


#: The model venues use unless told otherwise. Against the MBO ground truth
#: (``venues.queue_truth``, README "Ground truth") it is the best of the models on both the
#: liquid ESH4 hour (99.72% same outcome at 60 s, against 98.75% for ``Proportional``, with
#: half the queue-ahead error) and the ARL day (exact): real cancels come mostly from orders
#: that joined after us, and it has no parameter to tune.
DEFAULT_QUEUE_MODEL: QueueModel = RiskAverse()

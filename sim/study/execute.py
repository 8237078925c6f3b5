"""Running a study's markets on Dask distributed: local worker processes, or a running scheduler.

There is no job queue here: every market is one Dask task, and Dask does the rest.
A worker that dies mid-market (killed, out of memory) has its tasks re-run on
another worker by the scheduler; a task whose workers keep dying
(``distributed.scheduler.allowed-failures``, 3 by default) is reported as failed.
Results come back in any order and are handed over one by one (the caller
checkpoints them); the result JSON is assembled from them in market order
afterwards, so nothing depends on which worker ran what, or when.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any
from urllib.parse import urlsplit

from sim.scenario import Scenario
from sim.study.markets import Market
from sim.study.worker import MarketOutcome, run_market
from venues.params import ConfigError

INSTALL_HINT = "sor study runs on Dask distributed: pip install 'sor[cluster]' (dask, distributed)"
#: Seconds to wait for a TCP connection to a scheduler, then for Dask's handshake.
CONNECT_S = 1.5
HANDSHAKE_S = 3


class StudyError(ConfigError):
    """A study that cannot go on (no Dask, no scheduler, a market that failed); one line of text."""


def _require_dask() -> Any:
    try:
        import distributed
    except ImportError:
        raise StudyError(INSTALL_HINT) from None
    return distributed


def _reachable(address: str) -> None:
    parts = urlsplit(address if "://" in address else f"tcp://{address}")
    if parts.scheme not in ("tcp", "tls") or not parts.hostname or parts.port is None:
        raise StudyError(f"--cluster {address}: expected tcp://HOST:PORT")
    try:
        with socket.create_connection((parts.hostname, parts.port), timeout=CONNECT_S):
            pass
    except OSError as exc:
        reason = "timed out" if isinstance(exc, TimeoutError) else (exc.strerror or str(exc))
        raise StudyError(f"--cluster {address}: no Dask scheduler answers there ({reason})") from None


@contextlib.contextmanager
def dask_client(workers: int | None = None, cluster: str | None = None) -> Iterator[Any]:
    """Yield a ``distributed.Client``: on the scheduler at ``cluster``, else on local worker processes.

    Local workers are ``workers`` processes (one per core when ``None``) of one thread
    each; they and their scheduler live as long as the ``with`` block.
    """
    distributed = _require_dask()
    for name in ("distributed", "tornado"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
    if cluster is not None:
        _reachable(cluster)
        try:
            client = distributed.Client(cluster, timeout=HANDSHAKE_S)
        except Exception as exc:  # noqa: BLE001 - whatever answered there is not a scheduler we can use
            raise StudyError(
                f"--cluster {cluster}: no Dask scheduler answers there ({' '.join(str(exc).split())[:200]})"
            ) from None
        try:
            yield client
        finally:
            client.close()
        return
    n = workers or os.cpu_count() or 1
    try:
        local = distributed.LocalCluster(
            n_workers=n,
            threads_per_worker=1,
            processes=True,
            # Port 0: its HTTP endpoint must not fight a scheduler already on Dask's 8787.
            dashboard_address=":0",
            silence_logs=logging.CRITICAL,
        )
    except Exception as exc:  # noqa: BLE001 - whatever stopped the workers, say it in one line
        raise StudyError(
            f"cannot start {n} local Dask worker processes ({' '.join(str(exc).split())[:200]}); "
            'a script that runs a study must start it under `if __name__ == "__main__":`'
        ) from None
    try:
        client = distributed.Client(local)
        try:
            yield client
        finally:
            client.close()
    finally:
        local.close()


def task_key(digest: str, market: Market) -> str:
    """Return the Dask key of ``market``'s task: the study's digest and the market's index."""
    return f"sor-market-{digest[:16]}-{market.index:06d}"


def run_markets(
    client: Any,
    scenario: Scenario,
    markets: Sequence[Market],
    *,
    digest: str,
    on_outcome: Callable[[Market, MarketOutcome], None],
) -> float:
    """Run ``markets`` on ``client``'s workers, calling ``on_outcome`` as each one finishes.

    ``on_outcome`` may raise to stop the study: the tasks still queued or running
    are cancelled. A task Dask itself gives up on (its workers kept dying, or it
    raised something that is not a market input error) arrives as an outcome with
    the error in one line. Returns the wall time in seconds.
    """
    distributed = _require_dask()
    started = time.perf_counter()
    futures = {
        client.submit(run_market, scenario, m, key=task_key(digest, m), pure=False): m for m in markets
    }
    try:
        for future in distributed.as_completed(futures):
            market = futures[future]
            try:
                outcome = future.result()
            except Exception as exc:  # noqa: BLE001 - any task failure is this market's failure, named
                outcome = MarketOutcome(market.index, None, _describe(exc), 0.0, 0.0, 0)
            future.release()  # the worker may drop its copy of the result now
            on_outcome(market, outcome)
    finally:
        pending = [f for f in futures if not f.done()]
        if pending:
            client.cancel(pending)
    return time.perf_counter() - started


def _describe(exc: BaseException) -> str:
    name = type(exc).__name__
    if name == "KilledWorker":
        return "its worker died every time it ran (out of memory or killed); Dask gave up on it"
    text = " ".join(str(exc).split())
    if "deserializ" in text:
        text += " (the scheduler and every worker need this version of sor installed)"
    return f"{name}: {text}" if text else name

"""``sor kafka up|status|down|logs|read`` and ``sor stream``: a local broker and a paced producer.

The commands only parse arguments and call ``feeds.kafka``; every fault ends
in one line and a non-zero exit.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import click

from feeds.errors import FeedError
from feeds.kafka import broker
from feeds.kafka.client import (
    CONNECT_TIMEOUT_S,
    DEFAULT_BOOTSTRAP,
    DEFAULT_TOPIC,
    broker_answers,
    list_topics,
    native_crc,
)
from sim.commands.options import wait_option

try:
    import tomllib
except ImportError:  # Python 3.10
    import tomli as tomllib


def _config(port: int | None = None, controller_port: int | None = None) -> broker.BrokerConfig:
    given = {"port": port} if port is not None else {}
    if controller_port is not None:
        given["controller_port"] = controller_port
    elif port is not None and "SOR_KAFKA_CONTROLLER_PORT" not in os.environ:
        given["controller_port"] = port + 1
    try:
        return broker.BrokerConfig(**given)
    except (OSError, ValueError) as exc:
        raise click.ClickException(f"bad broker settings: {exc}") from None


def _say(message: str) -> None:
    click.echo(message, err=True)


@click.group()
def kafka() -> None:
    """Run a single-node Kafka broker (KRaft) on 127.0.0.1 from the Maven Central jars.

    Jars are cached in ~/.cache/sor/kafka/VERSION ($SOR_KAFKA_HOME). The broker's
    data, logs, pid and address live in one state folder, whatever the current
    folder: $SOR_STATE_DIR/kafka, else $XDG_STATE_HOME/sor/kafka, else
    ~/.local/state/sor/kafka. up, status, down and logs act on the broker of that folder.
    """


@kafka.command()
@click.option("--timeout", default=60.0, show_default=True, help="Seconds to wait for the broker to answer.")
@click.option(
    "--port",
    type=click.IntRange(1, 65535),
    default=None,
    help="Client port on 127.0.0.1  [default: $SOR_KAFKA_PORT or 9092]",
)
@click.option(
    "--controller-port",
    type=click.IntRange(1, 65535),
    default=None,
    help="KRaft controller port  [default: $SOR_KAFKA_CONTROLLER_PORT or the client port + 1]",
)
def up(timeout: float, port: int | None, controller_port: int | None) -> None:
    """Start the broker in the background (formatting its storage on first use); wait until it answers."""
    config = _config(port, controller_port)
    current = broker.status(config)
    if current.running:
        click.echo(f"kafka: already running (pid {current.pid}) at {current.bootstrap}; state {config.state}")
        if current.bootstrap != config.bootstrap:
            click.echo(f"  (not at {config.bootstrap}: `sor kafka down` first to move it)")
        return
    if broker_answers(config.bootstrap, timeout_s=2.0):
        click.echo(
            f"kafka: a broker not started from {config.state} answers at {config.bootstrap}; using it "
            "(start one of our own with --port N)"
        )
        return
    began = time.monotonic()
    try:
        started = broker.up(config, timeout_s=timeout, echo=_say)
    except broker.BrokerError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(
        f"kafka: started Kafka {config.version} (pid {started.pid}) at {started.bootstrap} "
        f"in {time.monotonic() - began:.1f} s; state {config.state}; log {config.log_file}"
    )


@kafka.command()
def status() -> None:
    """Say whether the broker runs, its pid and address, and the topics it holds (exit 1 when down)."""
    config = _config()
    now = broker.status(config)
    if now.running:
        click.echo(f"kafka: running (pid {now.pid}) at {now.bootstrap}, Kafka {now.version}")
        click.echo(f"  state {config.state}")
        click.echo(f"  log   {config.log_file}")
    elif now.answers:
        click.echo(f"kafka: a broker answers at {now.bootstrap} (not started from {config.state})")
    else:
        click.echo(f"kafka: not running (state {config.state}); start it with `sor kafka up`")
        sys.exit(1)
    if not now.answers:
        click.echo("  not answering yet (starting, or stuck: see `sor kafka logs`)")
        return
    try:
        topics = list_topics(now.bootstrap)
    except FeedError as exc:
        click.echo(f"  topics: cannot list ({exc.message})")
        return
    from feeds.kafka.schema import INDEX_SUFFIX

    listing = ", ".join(
        f"{name} ({n} partition{'s' if n != 1 else ''}"
        f"{', run index' if name + INDEX_SUFFIX in topics else ''})"
        for name, n in sorted(topics.items())
        if not (name.endswith(INDEX_SUFFIX) and name[: -len(INDEX_SUFFIX)] in topics)
    )
    click.echo(f"  topics: {listing or 'none'}")


@kafka.command()
@click.option(
    "--timeout", default=30.0, show_default=True, help="Seconds to wait after SIGTERM before SIGKILL."
)
def down(timeout: float) -> None:
    """Stop the broker cleanly (SIGTERM), or with SIGKILL when it does not stop in time."""
    config = _config()
    pid, clean = broker.down(config, timeout_s=timeout)
    if pid is None:
        click.echo(f"kafka: not running (state {config.state})")
    elif clean:
        click.echo(f"kafka: stopped (pid {pid})")
    else:
        click.echo(f"kafka: pid {pid} ignored SIGTERM for {timeout:g} s; killed it (SIGKILL)")


@kafka.command()
@click.option("-n", "--lines", default=40, show_default=True, help="How many lines from the end.")
@click.option("-f", "--follow", is_flag=True, help="Keep printing new lines until Ctrl-C.")
def logs(lines: int, follow: bool) -> None:
    """Print the tail of the broker log."""
    config = _config()
    path = config.log_file
    if not path.exists():
        raise click.ClickException(f"no broker log at {path} (state {config.state}: has `sor kafka up` run?)")
    with path.open(errors="replace") as fh:
        for line in fh.readlines()[-lines:]:
            click.echo(line, nl=False)
        if not follow:
            return
        try:
            while True:
                line = fh.readline()
                if line:
                    click.echo(line, nl=False)
                else:
                    time.sleep(0.5)
        except KeyboardInterrupt:
            return


@kafka.command()
@click.argument("spec", default=f"kafka://{DEFAULT_BOOTSTRAP}/{DEFAULT_TOPIC}")
@wait_option
@click.option(
    "--connect-timeout",
    type=click.FloatRange(0, 1e9),
    default=None,
    help=f"Seconds to keep trying to reach the broker  [default: {CONNECT_TIMEOUT_S:g}]",
)
@click.option(
    "--idle", type=click.FloatRange(0, 1e9), default=None, help="Seconds a run may stay silent  [default: 60]"
)
def read(spec: str, wait_s: float | None, connect_timeout: float | None, idle: float | None) -> None:
    """Read one run back from SPEC (kafka://HOST:PORT/TOPIC[?run=ID]) and summarize it."""
    from feeds.kafka.consumer import defaults, read_run

    try:
        with defaults(wait_s=wait_s, idle_s=idle, connect_timeout_s=connect_timeout):
            got = read_run(spec)
    except FeedError as exc:
        raise click.ClickException(str(exc)) from None
    data = got.data
    span = (int(data.ts_event[-1]) - int(data.ts_event[0])) / 1e9 if len(data) else 0.0
    click.echo(f"run        {got.run}")
    click.echo(f"snapshots  {len(data):,} from venues {list(data.venues)} over {span:.1f} s of market time")
    click.echo(f"source     {data.source} ({data.symbol or 'no symbol'}), {data.rows_read:,} rows read")
    click.echo(f"messages   {got.messages:,}")
    click.echo(f"skipped    {got.malformed} malformed, {got.duplicates} duplicate(s)")
    if got.skipped:
        click.echo(f"passed     newer incomplete run(s) {', '.join(got.skipped)}")
    click.echo(f"time       {got.seconds:.2f} s ({len(data) / max(got.seconds, 1e-9):,.0f} snapshots/s)")


class _Speed(click.ParamType):
    name = "FACTOR|max"

    def convert(self, value, param, ctx):
        if value is None or (isinstance(value, str) and value.lower() == "max"):
            return None
        try:
            speed = float(value)
        except (TypeError, ValueError):
            self.fail(f"{value!r} is neither a positive number nor 'max'", param, ctx)
        if not speed > 0:
            self.fail(f"{value!r} must be positive", param, ctx)
        return speed


def _scenario_data(path: Path) -> tuple[str, str | None, str | None]:
    try:
        with path.open("rb") as fh:
            raw = tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise click.ClickException(f"{path}: cannot read the scenario: {exc}") from None
    data = raw.get("data")
    if not isinstance(data, dict) or not isinstance(data.get("source"), str):
        raise click.ClickException(f'{path}: no [data] source = "..." in the scenario')
    return data["source"], data.get("start"), data.get("end")


def load_market(source: str, window: tuple[str, str] | None):
    """Load SOURCE (a feed spec or a scenario TOML) through ``feeds.sources.load_source``."""
    start = end = None
    if source.endswith(".toml"):
        source, start, end = _scenario_data(Path(source))
    if window:
        start, end = window
    try:
        from feeds.sources import load_source
    except ImportError as exc:
        raise click.ClickException(f"cannot load market data: feeds.sources is unavailable ({exc})") from None
    try:
        return load_source(source, start=start, end=end)
    except FeedError as exc:
        raise click.ClickException(str(exc)) from None
    except (OSError, ValueError) as exc:
        raise click.ClickException(f"{source}: {exc}") from None


@click.command()
@click.argument("source")
@click.option("--topic", default=DEFAULT_TOPIC, show_default=True, help="Topic to publish to.")
@click.option("--bootstrap", default=DEFAULT_BOOTSTRAP, show_default=True, help="Broker address host:port.")
@click.option(
    "--speed",
    type=_Speed(),
    default="1.0",
    show_default=True,
    help="Replay speed: a factor over the ts_event deltas (10 = ten times real time), or 'max'.",
)
@click.option("--window", nargs=2, default=None, metavar="START END", help="Replay only this time window.")
@click.option(
    "--partitions",
    type=click.IntRange(1, 256),
    default=3,
    show_default=True,
    help="Partitions of a new topic.",
)
@click.option("--run-id", default=None, help="Run id to stamp on the messages (default: a fresh uuid4).")
@click.option(
    "--connect-timeout",
    type=click.FloatRange(0, 1e9),
    default=CONNECT_TIMEOUT_S,
    show_default=True,
    help="Seconds to keep trying to reach the broker.",
)
@click.option(
    "--delivery-timeout",
    type=click.FloatRange(1, 1e9),
    default=60.0,
    show_default=True,
    help="Seconds a message may be retried (a broker restart) before the run fails.",
)
@click.option(
    "--linger-ms",
    type=click.FloatRange(0, 1000),
    default=5.0,
    show_default=True,
    help="When paced: how long a snapshot may wait for those due after it, to share a message.",
)
@click.option("-q", "--quiet", is_flag=True, help="No progress display.")
def stream(
    source: str,
    topic: str,
    bootstrap: str,
    speed: float | None,
    window: tuple[str, str] | None,
    partitions: int,
    run_id: str | None,
    connect_timeout: float,
    delivery_timeout: float,
    linger_ms: float,
    quiet: bool,
) -> None:
    """Publish the snapshots of SOURCE to Kafka as one run, paced by their ts_event.

    SOURCE is a feed spec (a CSV or .dbn path, synthetic:venues=3,seconds=522,seed=7, ...)
    or a scenario TOML whose [data] source (and start/end) is used.
    """
    from feeds.kafka import producer, schema

    try:
        run = schema.check_run_id(run_id) if run_id else producer.new_run_id()
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--run-id") from None
    data = load_market(source, window)
    show = not quiet and sys.stderr.isatty() and len(data) > 0
    bar = (
        click.progressbar(length=len(data), label=f"streaming to {topic}", file=sys.stderr) if show else None
    )
    done = 0

    def progress(sent: int) -> None:
        nonlocal done
        if bar is not None:
            bar.update(sent - done)
        done = sent

    try:
        if bar is not None:
            bar.__enter__()
        report = producer.publish(
            data,
            topic=topic,
            bootstrap=bootstrap,
            speed=speed,
            partitions=partitions,
            run=run,
            connect_timeout_s=connect_timeout,
            delivery_timeout_s=delivery_timeout,
            linger_s=linger_ms / 1000,
            on_progress=progress,
        )
    except FeedError as exc:
        raise click.ClickException(str(exc)) from None
    except KeyboardInterrupt:
        raise click.ClickException(
            f"interrupted after {done:,} snapshots: run {run} has no end marker"
        ) from None
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)
    for line in summary_lines(report):
        click.echo(line)
    if not native_crc():
        _say(
            "hint: `pip install crc32c` makes Kafka I/O several times faster "
            "(kafka-python's CRC is pure Python without it)"
        )


def summary_lines(report) -> list[str]:
    """Return the lines ``sor stream`` ends with: the run, what was sent, retries, how to read it."""
    return [
        f"run        {report.run}",
        f"topic      {report.topic} ({report.partitions} partitions) at {report.bootstrap}",
        f"sent       {report.snapshots:,} snapshots in {report.messages:,} messages, "
        f"{report.bytes / 1e6:.1f} MB",
        f"time       {report.seconds:.2f} s: {report.snapshots_per_s:,.0f} snapshots/s, "
        f"{report.messages_per_s:,.0f} messages/s",
        f"delivery   {report.retries:,} record(s) resent; longest wait for an acknowledgement "
        f"{report.longest_outage_s:.2f} s (an outage ridden through, when above a second)",
        f"read it    kafka://{report.bootstrap}/{report.topic}?run={report.run}",
    ]

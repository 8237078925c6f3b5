"""A local single-node Kafka broker (KRaft) run from the official Maven Central jars.

The jars of ``org.apache.kafka:kafka_2.13`` and its runtime dependencies are
resolved once with Maven into a cache folder (``~/.cache/sor/kafka/<version>``,
or ``$SOR_KAFKA_HOME``); Maven's own repository stays the default ``~/.m2`` so
a CI cache of it is reused. The broker's state (configuration, data, logs, pid,
address) lives in one folder whatever the current directory: ``$SOR_STATE_DIR/kafka``,
else ``$XDG_STATE_HOME/sor/kafka``, else ``~/.local/state/sor/kafka``; so
``up``/``status``/``down``/``logs`` find the same broker from anywhere.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import signal
import subprocess
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import attrs

from feeds.kafka.client import broker_answers, wait_for_port

KAFKA_VERSION = "4.1.2"
HEAP_OPTS = "-Xms256m -Xmx512m"
_MAIN_CLASS = "kafka.Kafka"
_STORAGE_TOOL = "kafka.tools.StorageTool"


class BrokerError(RuntimeError):
    """A fault of the local broker (missing Java or Maven, failed start): one line."""


def _default_home(version: str) -> Path:
    env = os.environ.get("SOR_KAFKA_HOME")
    if env:
        return Path(env).expanduser().absolute()
    return Path.home() / ".cache" / "sor" / "kafka" / version


def default_state() -> Path:
    """Return the broker's state folder (see the module docstring); never relative to the current folder."""
    env = os.environ.get("SOR_STATE_DIR")
    if env:
        # Absolute: the path is matched against the running broker's command line.
        return Path(env).expanduser().absolute() / "kafka"
    xdg = os.environ.get("XDG_STATE_HOME")
    base = (
        Path(xdg).expanduser().absolute()
        if xdg and Path(xdg).is_absolute()
        else Path.home() / ".local" / "state"
    )
    return base / "sor" / "kafka"


def _env_port(name: str, default: int) -> int:
    text = os.environ.get(name)
    if text is None:
        return default
    try:
        port = int(text)
    except ValueError:
        raise ValueError(f"${name}={text!r} is not a port number") from None
    return port


def check_port(port: int, what: str = "port") -> int:
    """Return ``port`` when it is a TCP port (1-65535); raise ``ValueError`` naming ``what`` if not."""
    if not 1 <= int(port) <= 65535:
        raise ValueError(f"{what} {port} is not a TCP port (1-65535)")
    return int(port)


@attrs.frozen(kw_only=True)
class BrokerConfig:
    """Where and how the local broker runs: version, jar cache, state folder, ports, heap.

    Defaults come from the environment: ``SOR_KAFKA_VERSION``, ``SOR_KAFKA_HOME``,
    ``SOR_STATE_DIR`` (see ``default_state``), ``SOR_KAFKA_PORT`` (9092; the controller
    takes the next port, or ``SOR_KAFKA_CONTROLLER_PORT``) and ``SOR_KAFKA_HEAP_OPTS``.
    """

    version: str = attrs.field(factory=lambda: os.environ.get("SOR_KAFKA_VERSION", KAFKA_VERSION))
    home: Path = attrs.field(
        default=attrs.Factory(lambda self: _default_home(self.version), takes_self=True), converter=Path
    )
    state: Path = attrs.field(factory=default_state, converter=Path)
    host: str = "127.0.0.1"
    port: int = attrs.field(
        factory=lambda: _env_port("SOR_KAFKA_PORT", 9092),
        converter=int,
        validator=lambda _s, _a, v: check_port(v, "broker port"),
    )
    controller_port: int = attrs.field(
        default=attrs.Factory(
            lambda self: _env_port("SOR_KAFKA_CONTROLLER_PORT", self.port + 1), takes_self=True
        ),
        converter=int,
        validator=lambda _s, _a, v: check_port(v, "controller port"),
    )
    heap_opts: str = attrs.field(factory=lambda: os.environ.get("SOR_KAFKA_HEAP_OPTS", HEAP_OPTS))

    @property
    def bootstrap(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def libs(self) -> Path:
        return self.home / "libs"

    @property
    def log_file(self) -> Path:
        return self.state / "logs" / "server.log"

    @property
    def console_file(self) -> Path:
        return self.state / "logs" / "console.log"

    @property
    def pid_file(self) -> Path:
        return self.state / "broker.pid"

    @property
    def info_file(self) -> Path:
        return self.state / "broker.json"


@attrs.frozen
class BrokerStatus:
    """What ``status`` found: whether our broker runs, its pid, address and folders."""

    running: bool
    pid: int | None
    bootstrap: str
    version: str | None
    state: Path
    answers: bool


# ---------------------------------------------------------------- resolution


def _require(tool: str, hint: str) -> str:
    path = shutil.which(tool)
    if path is None:
        raise BrokerError(hint)
    return path


def _check_java() -> str:
    java = _require(
        "java", "java not found: install a Java 17+ runtime (e.g. apt-get install openjdk-17-jre-headless)"
    )
    out = subprocess.run([java, "-version"], capture_output=True, text=True, check=False).stderr
    match = re.search(r'version "(\d+)', out)
    if match and int(match.group(1)) < 17:
        raise BrokerError(f"Kafka 4 needs Java 17+, found {match.group(0)}: install a JDK/JRE 17 or newer")
    return java


_POM = """<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>sor.local</groupId>
  <artifactId>kafka-runtime</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>org.apache.kafka</groupId>
      <artifactId>kafka_2.13</artifactId>
      <version>{version}</version>
    </dependency>
  </dependencies>
</project>
"""


def _mvn(mvn: str, args: list[str], cwd: Path) -> None:
    done = subprocess.run([mvn, "-q", "-B", *args], cwd=cwd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        lines = [ln for ln in (done.stdout + done.stderr).splitlines() if "ERROR" in ln] or ["(no output)"]
        raise BrokerError(f"Maven could not resolve the Kafka jars: {lines[0].strip()[:300]}")


def resolve_jars(config: BrokerConfig, echo: Callable[[str], None] = lambda _m: None) -> Path:
    """Make sure the broker's runtime jars are in ``config.libs``; return that folder.

    The first call writes a tiny ``pom.xml`` and runs ``mvn dependency:copy-dependencies``;
    later calls find the ``.complete`` marker and return at once.
    """
    marker = config.libs / ".complete"
    if marker.exists():
        return config.libs
    mvn = _require(
        "mvn", "mvn not found: install Maven 3.6+ (e.g. apt-get install maven) to fetch the Kafka jars"
    )
    echo(f"resolving org.apache.kafka:kafka_2.13:{config.version} with Maven into {config.home} ...")
    config.home.mkdir(parents=True, exist_ok=True)
    (config.home / "pom.xml").write_text(_POM.format(version=config.version))
    staging = config.home / "libs.partial"
    shutil.rmtree(staging, ignore_errors=True)
    _mvn(
        mvn,
        ["dependency:copy-dependencies", f"-DoutputDirectory={staging}", "-DincludeScope=runtime"],
        config.home,
    )
    # Kafka logs through SLF4J 1.7 but its pom leaves the Log4j2 binding out (the
    # release tarball adds it); without it every log line is silently dropped.
    core = sorted(staging.glob("log4j-core-*.jar"))
    if core and not list(staging.glob("log4j-slf4j-impl-*.jar")):
        log4j_version = core[0].name[len("log4j-core-") : -len(".jar")]
        _mvn(
            mvn,
            [
                "dependency:copy",
                f"-Dartifact=org.apache.logging.log4j:log4j-slf4j-impl:{log4j_version}",
                f"-DoutputDirectory={staging}",
            ],
            config.home,
        )
    if not list(staging.glob(f"kafka_2.13-{config.version}.jar")):
        raise BrokerError(f"Maven finished but kafka_2.13-{config.version}.jar is missing from {staging}")
    shutil.rmtree(config.libs, ignore_errors=True)
    staging.rename(config.libs)
    marker.write_text(config.version + "\n")
    return config.libs


# ---------------------------------------------------------------- configuration

_LOG4J2 = """<?xml version="1.0" encoding="UTF-8"?>
<!-- Generated by sor: the broker logs to one rolling file, nothing on the console. -->
<Configuration status="WARN">
  <Appenders>
    <RollingFile name="file" fileName="{log}" filePattern="{log}.%i">
      <PatternLayout pattern="[%d] %p %m (%c)%n"/>
      <Policies><SizeBasedTriggeringPolicy size="10 MB"/></Policies>
      <DefaultRolloverStrategy max="3"/>
    </RollingFile>
  </Appenders>
  <Loggers>
    <Logger name="kafka.request.logger" level="WARN"/>
    <Logger name="state.change.logger" level="WARN"/>
    <Logger name="org.apache.kafka.raft" level="WARN"/>
    <Logger name="org.apache.kafka.controller" level="WARN"/>
    <Logger name="kafka.log.LogCleaner" level="WARN"/>
    <Root level="INFO"><AppenderRef ref="file"/></Root>
  </Loggers>
</Configuration>
"""


def _server_properties(config: BrokerConfig) -> str:
    host, port, cport = config.host, config.port, config.controller_port
    props = {
        "process.roles": "broker,controller",
        "node.id": "1",
        "controller.quorum.bootstrap.servers": f"{host}:{cport}",
        "listeners": f"PLAINTEXT://{host}:{port},CONTROLLER://{host}:{cport}",
        "advertised.listeners": f"PLAINTEXT://{host}:{port},CONTROLLER://{host}:{cport}",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
        "log.dirs": str(config.state / "data"),
        "offsets.topic.replication.factor": "1",
        "offsets.topic.num.partitions": "1",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "share.coordinator.state.topic.replication.factor": "1",
        "share.coordinator.state.topic.min.isr": "1",
        "group.initial.rebalance.delay.ms": "0",
        # After a crash the restarted node waits out its old session before it may
        # register again: keep that session short (default 9 s) so recovery is quick.
        "broker.heartbeat.interval.ms": "1000",
        "broker.session.timeout.ms": "3000",
        # Topics are created by the producer with the partition count it asks for;
        # a consumer probing a missing topic must not create it by accident.
        "auto.create.topics.enable": "false",
        "num.partitions": "1",
        # A small machine: few threads, and a week of retention bounded in size.
        "num.network.threads": "2",
        "num.io.threads": "4",
        "log.retention.hours": "168",
        "log.retention.bytes": str(1 << 30),
    }
    return "".join(f"{k}={v}\n" for k, v in props.items())


def _cluster_id() -> str:
    # Kafka's Uuid text form: URL-safe base64 of 16 bytes, never starting with "-".
    while True:
        text = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not text.startswith("-"):
            return text


def _write_config(config: BrokerConfig) -> tuple[Path, Path]:
    config.state.mkdir(parents=True, exist_ok=True)
    (config.state / "logs").mkdir(exist_ok=True)
    props = config.state / "server.properties"
    props.write_text(_server_properties(config))
    log4j = config.state / "log4j2.xml"
    log4j.write_text(_LOG4J2.format(log=config.log_file))
    return props, log4j


def _java_cmd(java: str, config: BrokerConfig, log4j: Path, main: str, *args: str) -> list[str]:
    return [
        java,
        *config.heap_opts.split(),
        "-XX:+UseG1GC",
        "-XX:MaxGCPauseMillis=20",
        "-XX:+ExitOnOutOfMemoryError",
        "-Djava.awt.headless=true",
        f"-Dlog4j.configurationFile={log4j}",
        f"-Dkafka.logs.dir={config.log_file.parent}",
        "-cp",
        str(config.libs / "*"),
        main,
        *args,
    ]


def _format_storage(java: str, config: BrokerConfig, props: Path, log4j: Path) -> None:
    if (config.state / "data" / "meta.properties").exists():
        return
    cmd = _java_cmd(java, config, log4j, _STORAGE_TOOL, "format", "-t", _cluster_id(), "-c", str(props))
    cmd += ["--standalone", "--ignore-formatted"]
    # The storage tool is short-lived: a small heap is plenty.
    cmd = [c for c in cmd if not c.startswith(("-Xms", "-Xmx"))]
    cmd.insert(1, "-Xmx128m")
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["(no output)"]
        raise BrokerError(f"formatting {config.state / 'data'} failed: {tail[0]}")


# ---------------------------------------------------------------- process


def _read_pid(config: BrokerConfig) -> int | None:
    try:
        pid = int(config.pid_file.read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if _is_our_broker(pid, config) else None


def _is_our_broker(pid: int, config: BrokerConfig) -> bool:
    # Guard against a stale pid file whose number now belongs to another process.
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        try:
            os.kill(pid, 0)
        except OSError:
            return False
        return True
    stat = Path(f"/proc/{pid}/stat").read_text(errors="replace")
    if ") Z" in stat:
        return False
    return _MAIN_CLASS.encode() in cmdline and str(config.state / "server.properties").encode() in cmdline


def log_tail(config: BrokerConfig, lines: int = 20) -> str:
    """Return the last ``lines`` lines of the broker log (and its console output)."""
    chunks = []
    for path in (config.log_file, config.console_file):
        try:
            text = path.read_text(errors="replace")
        except OSError:
            continue
        if text.strip():
            chunks.extend(text.splitlines()[-lines:])
    return "\n".join(chunks[-lines:])


def status(config: BrokerConfig) -> BrokerStatus:
    """Say whether the broker of ``config.state`` runs and whether anything answers on its port."""
    pid = _read_pid(config)
    try:
        info = json.loads(config.info_file.read_text())
    except (OSError, ValueError):
        info = {}
    bootstrap = info.get("bootstrap", config.bootstrap)
    return BrokerStatus(
        running=pid is not None,
        pid=pid,
        bootstrap=bootstrap,
        version=info.get("version") if pid is not None else None,
        state=config.state,
        answers=broker_answers(bootstrap, timeout_s=3.0),
    )


def up(
    config: BrokerConfig, timeout_s: float = 60.0, echo: Callable[[str], None] = lambda _m: None
) -> BrokerStatus:
    """Start the broker in the background and wait until it answers; do nothing if it runs.

    Raises ``BrokerError`` with the log tail when it does not answer within ``timeout_s``.
    """
    current = status(config)
    if current.running:
        return current
    if config.port == config.controller_port:
        raise BrokerError(f"the broker and controller ports are both {config.port}: give them two ports")
    for port, what, flag in (
        (config.port, "broker", "--port"),
        (config.controller_port, "controller", "--controller-port"),
    ):
        if wait_for_port(config.host, port, timeout_s=0.0):
            raise BrokerError(
                f"something already listens on {config.host}:{port}, the {what} port (not the broker of "
                f"{config.state}); stop it or pick another with `sor kafka up {flag} N`"
            )
    java = _check_java()
    resolve_jars(config, echo)
    props, log4j = _write_config(config)
    _format_storage(java, config, props, log4j)
    console = open(config.console_file, "ab")  # noqa: SIM115 - handed to the child
    try:
        proc = subprocess.Popen(
            _java_cmd(java, config, log4j, _MAIN_CLASS, str(props)),
            stdin=subprocess.DEVNULL,
            stdout=console,
            stderr=subprocess.STDOUT,
            cwd=config.state,
            # Own session: the broker outlives the `sor` process and a Ctrl-C in its terminal.
            start_new_session=True,
        )
    finally:
        console.close()
    config.pid_file.write_text(f"{proc.pid}\n")
    config.info_file.write_text(
        json.dumps({"pid": proc.pid, "bootstrap": config.bootstrap, "version": config.version}) + "\n"
    )
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            config.pid_file.unlink(missing_ok=True)
            raise BrokerError(
                f"the broker exited with code {proc.returncode} while starting; log tail:\n{log_tail(config)}"
            )
        if broker_answers(config.bootstrap, timeout_s=2.0):
            return status(config)
        time.sleep(0.3)
    _stop_pid(proc.pid, 10.0)
    config.pid_file.unlink(missing_ok=True)
    raise BrokerError(
        f"the broker did not answer on {config.bootstrap} within {timeout_s:.0f} s; "
        f"stopped it; log tail:\n{log_tail(config)}"
    )


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        # A zombie child (when we started it in this process) counts as gone.
        return ") Z" not in Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True


def _stop_pid(pid: int, timeout_s: float) -> bool:
    """Send SIGTERM, wait up to ``timeout_s``, then SIGKILL; return True when it stopped cleanly."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return True
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        _reap(pid)
        if not _alive(pid):
            return True
        time.sleep(0.2)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return True
    for _ in range(50):
        _reap(pid)
        if not _alive(pid):
            break
        time.sleep(0.1)
    return False


def _reap(pid: int) -> None:
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def down(config: BrokerConfig, timeout_s: float = 30.0) -> tuple[int | None, bool]:
    """Stop the broker: SIGTERM, wait up to ``timeout_s``, then SIGKILL.

    Return ``(pid, clean)``; ``pid`` is None when nothing was running.
    """
    pid = _read_pid(config)
    if pid is None:
        config.pid_file.unlink(missing_ok=True)
        return None, True
    clean = _stop_pid(pid, timeout_s)
    config.pid_file.unlink(missing_ok=True)
    return pid, clean


def kill(config: BrokerConfig) -> int | None:
    """SIGKILL the broker at once (a crash, for fault tests); return its pid or None."""
    pid = _read_pid(config)
    if pid is None:
        return None
    os.kill(pid, signal.SIGKILL)
    for _ in range(100):
        _reap(pid)
        if not _alive(pid):
            break
        time.sleep(0.05)
    config.pid_file.unlink(missing_ok=True)
    return pid

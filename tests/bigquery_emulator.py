"""Run the `local-bigquery` emulator as a child process so tests can use the REAL BigQuery clients.

The emulator lives in its own Python >= 3.13 virtualenv (made by `.ci/install-bigquery-emulator`,
which the test session runs itself: `install_emulator`), so it cannot be imported here: it is started
as `local-bigquery serve` on free loopback ports with a private data directory, and tests talk to it
over REST (google-cloud-bigquery) and gRPC (the Storage Read API), exactly as production code talks to
BigQuery.

A missing emulator is an error, never a skip: CI must run the BigQuery tests (DESIGN.md).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # imported lazily so that merely importing this module stays cheap
    from google.cloud import bigquery
    from google.cloud.bigquery_storage_v1 import BigQueryReadClient

REPO_ROOT = Path(__file__).resolve().parents[1]
INSTALLER = REPO_ROOT / ".ci" / "install-bigquery-emulator"
INSTALL_COMMAND = "bash .ci/install-bigquery-emulator"
VENV_ENV_VAR = "NBA_RAY_EMULATOR_VENV"
INSTALL_HINT = f"run {INSTALL_COMMAND}"
# The emulator process's HOME, inside its venv: DuckDB's extension directory is $HOME/.duckdb/extensions
# (DuckDB reads no environment variable for it) and the installer puts the emulator's extensions there
# (`duckdb_home` in .ci/install-bigquery-emulator), so the user's own ~/.duckdb plays no part.
EMULATOR_HOME = "duckdb-home"
# Bounds a hung installer (pip waits up to its own timeout per download); a first install takes ≈1 min.
INSTALL_TIMEOUT_S = 1200
DEFAULT_PROJECT = "test-proj"
# Unlimited gRPC message sizes: the Storage Read API sends whole Arrow record batches per message, and
# the default 4 MiB receive limit fails on wide date batches.
GRPC_UNLIMITED = [("grpc.max_receive_message_length", -1), ("grpc.max_send_message_length", -1)]


def emulator_venv() -> Path:
    """The emulator's virtualenv: `$NBA_RAY_EMULATOR_VENV`, else `<repo>/.emulator/venv` (the installer's)."""
    configured = os.environ.get(VENV_ENV_VAR)
    return Path(configured).expanduser() if configured else REPO_ROOT / ".emulator" / "venv"


def emulator_executable_path() -> Path:
    """Where `local-bigquery` is once the emulator venv is installed."""
    return emulator_venv() / "bin" / "local-bigquery"


def emulator_executable() -> Path:
    """Path of `local-bigquery` in the emulator venv; RuntimeError (not a skip) when it is not installed."""
    executable = emulator_executable_path()
    if not os.access(executable, os.X_OK):
        raise RuntimeError(
            f"local-bigquery emulator not found at {executable}: {INSTALL_HINT}"
            f" (or point {VENV_ENV_VAR} at a venv that has it)"
        )
    return executable


def emulator_environment() -> dict[str, str]:
    """The environment `local-bigquery serve` runs with: ours, with HOME at the venv's DuckDB home and
    without the project's venv."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "HOME": str(emulator_venv() / EMULATOR_HOME)}
    env.pop("VIRTUAL_ENV", None)  # the project's venv must not leak into the emulator's interpreter
    return env


class EmulatorUnavailable(RuntimeError):
    """The installer could not make the emulator ready; the message is its one-line reason."""


def install_emulator() -> str:
    """Runs `.ci/install-bigquery-emulator` (idempotent: a few seconds of offline checks when the venv is
    healthy) and returns its closing line, or raises `EmulatorUnavailable` with the line that says why not
    (e.g. which Python to install)."""
    try:
        result = subprocess.run(
            ["bash", str(INSTALLER)],
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            timeout=INSTALL_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise EmulatorUnavailable(f"{INSTALL_COMMAND} did not finish within {INSTALL_TIMEOUT_S}s") from None
    if result.returncode != 0:
        lines = [line.strip() for line in result.stderr.splitlines() if line.strip()]
        reason = lines[-1] if lines else f"exit code {result.returncode}"
        raise EmulatorUnavailable(f"BigQuery emulator unavailable: {reason}")
    return result.stdout.strip().splitlines()[-1]


def _free_loopback_ports(count: int) -> list[int]:
    """Ports the kernel just handed out on 127.0.0.1; all sockets are held until every port is chosen so
    the ports are distinct."""
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


class BigQueryEmulator:
    """One `local-bigquery serve` process on loopback, with a data dir that survives `kill()`/`restart()`.

    Usage: ``emu = BigQueryEmulator().start()`` … ``emu.close()`` (or use it as a context manager).
    Ports and data dir are fixed at construction so `restart()` comes back at the same endpoints with the
    same data, which is what a fault test needs to model a BigQuery outage.
    """

    def __init__(
        self,
        project: str = DEFAULT_PROJECT,
        *,
        workdir: Path | None = None,
        startup_timeout_s: float = 60.0,
    ) -> None:
        self._executable = emulator_executable()  # first: a missing emulator must not leave a temp dir
        self.project = project
        self.startup_timeout_s = startup_timeout_s
        self._owns_workdir = workdir is None
        self.workdir = Path(tempfile.mkdtemp(prefix="nba-ray-bq-")) if workdir is None else workdir
        self.data_dir = self.workdir / "data"
        self.log_path = self.workdir / "emulator.log"
        self.port, self.grpc_port = _free_loopback_ports(2)
        self._process: subprocess.Popen[bytes] | None = None
        self.startup_seconds: float | None = None
        atexit.register(self._atexit)

    @property
    def api_endpoint(self) -> str:
        """REST endpoint for `client_options={"api_endpoint": ...}`."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def grpc_endpoint(self) -> str:
        """host:port of the Storage Read API (plain, insecure gRPC)."""
        return f"127.0.0.1:{self.grpc_port}"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self) -> BigQueryEmulator:
        """Start the server and block until it answers REST and gRPC, or raise with the log's tail."""
        if self.running:
            return self
        self.data_dir.mkdir(parents=True, exist_ok=True)
        command = [
            str(self._executable),
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--grpc-port",
            str(self.grpc_port),
            "--project",
            self.project,
            "--data-dir",
            str(self.data_dir),
        ]
        env = emulator_environment()
        began = time.monotonic()
        with open(self.log_path, "ab") as log:
            log.write(f"\n--- starting: {' '.join(command)}\n".encode())
            log.flush()
            # Own session: a Ctrl-C aimed at pytest must not kill the server before teardown stops it.
            self._process = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True
            )
        self._wait_until_ready(began)
        self.startup_seconds = time.monotonic() - began
        return self

    def _wait_until_ready(self, began: float) -> None:
        probe = f"{self.api_endpoint}/bigquery/v2/projects/{self.project}/datasets"
        deadline = began + self.startup_timeout_s
        while True:
            assert self._process is not None
            if self._process.poll() is not None:
                self._fail(f"exited with code {self._process.returncode} while starting")
            if self._answers(probe) and self._grpc_accepts():
                return
            if time.monotonic() > deadline:
                self.kill()
                self._fail(f"did not answer within {self.startup_timeout_s:.0f}s")
            time.sleep(0.05)

    @staticmethod
    def _answers(url: str) -> bool:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return bool(response.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    def _grpc_accepts(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.grpc_port), timeout=1):
                return True
        except OSError:
            return False

    def _fail(self, what: str) -> None:
        raise RuntimeError(
            f"local-bigquery emulator ({self._executable}) {what} on {self.api_endpoint} / "
            f"{self.grpc_endpoint}; last lines of {self.log_path}:\n{self.log_tail()}"
        )

    def log_tail(self, lines: int = 40) -> str:
        """The end of the emulator's log (startup errors, tracebacks, access log)."""
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self, timeout_s: float = 10.0) -> None:
        """Graceful stop (SIGTERM, then SIGKILL after `timeout_s`); the data dir is kept."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def kill(self) -> None:
        """SIGKILL, like a crashed server, for fault tests; the data dir is kept for `restart()`."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.kill()
            process.wait()

    def restart(self) -> BigQueryEmulator:
        """Stop (if running) and start again on the same ports and data dir."""
        self.stop()
        return self.start()

    def close(self) -> None:
        """Stop and delete the temporary work dir (if this object created it)."""
        self.stop()
        if self._owns_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def _atexit(self) -> None:
        # Last resort when a test run is aborted before fixture teardown: never leave a server behind.
        with contextlib.suppress(Exception):
            self.kill()

    def __enter__(self) -> BigQueryEmulator:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def make_client(self, **kwargs: Any) -> bigquery.Client:
        """A real `google.cloud.bigquery.Client` for the emulator (anonymous credentials, emulator endpoint).

        Remember that every call's default retry deadline is 600 s: pass
        `retry=bigquery.DEFAULT_RETRY.with_deadline(...)`, `job_retry=None` and `timeout=...` where a
        failure must surface quickly (see docs/bigquery-emulator.md).
        """
        from google.api_core.client_options import ClientOptions
        from google.auth.credentials import AnonymousCredentials
        from google.cloud import bigquery

        return bigquery.Client(
            project=self.project,
            credentials=AnonymousCredentials(),
            client_options=ClientOptions(api_endpoint=self.api_endpoint),
            **kwargs,
        )

    def make_read_client(self) -> BigQueryReadClient:
        """A Storage Read API client on an insecure gRPC channel with unlimited message sizes.

        Make a new one after `restart()`: a channel that saw the server die reconnects only after its
        own back-off.
        """
        import grpc
        from google.cloud.bigquery_storage_v1 import BigQueryReadClient
        from google.cloud.bigquery_storage_v1.services.big_query_read.transports import (
            BigQueryReadGrpcTransport,
        )

        channel = grpc.insecure_channel(self.grpc_endpoint, options=GRPC_UNLIMITED)
        return BigQueryReadClient(transport=BigQueryReadGrpcTransport(channel=channel))

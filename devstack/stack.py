"""The local stack: DynamoDB Local + moto (server mode) + the template's resources + the functions
behind an API Gateway HTTP API front and emulated SQS event source mappings.

    from devstack.stack import LocalStack

    with LocalStack(port=0) as stack:                      # in this process
        requests.get(stack.api_url + "/health")
    with LocalStack(port=0, mode="subprocess") as stack:   # `python -m devstack` as a child process
        ...

Attributes once started: ``api_url``, ``dynamodb_endpoint``, ``moto_endpoint``, ``region``,
``account_id``, ``stack_name``, ``tables`` (logical id -> table name), ``functions`` (logical id ->
function name), ``resources`` (logical id -> physical id, as moto's CloudFormation reports them),
``client_env`` (the variables that point boto3 at this stack) and ``client(service)``.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from devstack.console import CopyLog, default_out, function_error_line, request_line, summary

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_TEMPLATE = REPO_ROOT / "template.yaml"
DEFAULT_STACK_NAME = "trade-copier"
DEFAULT_REGION = "us-east-1"
ACCOUNT_ID = "123456789012"  # moto's default account
FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}
# Environments per function (its local reserved concurrency). The executor runs one batch per
# follower queue at a time; a few environments let several followers be served in parallel.
DEFAULT_CONCURRENCY = 2
# The scheduler's invocations never overlap (one timer per schedule): one environment is enough, and a
# second would only add a Python process importing the handlers at start-up.
DEFAULT_CONCURRENCY_BY_FUNCTION = {"ExecutorFunction": 8, "SchedulerFunction": 1}

_inprocess_lock = threading.Lock()
_inprocess_active: LocalStack | None = None


class StackError(RuntimeError):
    """The local stack could not start (the message says why, in one sentence)."""


def _port_free(host: str, port: int) -> bool:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


class LocalStack:
    """Start/stop the whole local stack; a context manager."""

    def __init__(
        self,
        *,
        port: int = 3000,
        host: str = "127.0.0.1",
        template: Path | str = DEFAULT_TEMPLATE,
        stack_name: str = DEFAULT_STACK_NAME,
        mode: str = "inprocess",
        isolation: str = "process",
        concurrency: dict[str, int] | None = None,
        default_concurrency: int = DEFAULT_CONCURRENCY,
        warm: bool = True,
        function_logs: str = "file",
        log_dir: Path | str | None = None,
        keep_logs: bool = False,
        out: Callable[[str], None] | None = None,
        print_requests: bool = True,
        print_copies: bool = True,
        require_health: bool = True,
        ready_timeout: float = 60.0,
        esm_wait_seconds: int = 2,
        schedule_seconds: float = 60.0,
        subprocess_output: IO[bytes] | int | None = None,
        listener: bool = False,
        data_dir: Path | str | None = None,
    ) -> None:
        if mode not in ("inprocess", "subprocess"):
            raise ValueError("mode must be 'inprocess' or 'subprocess'")
        if function_logs not in ("file", "console"):
            raise ValueError("function_logs must be 'file' or 'console'")
        self.port = port
        self.host = host
        self.template = Path(template).resolve()
        self.stack_name = stack_name
        self.mode = mode
        self.isolation = isolation
        self.concurrency = dict(DEFAULT_CONCURRENCY_BY_FUNCTION, **(concurrency or {}))
        self.default_concurrency = default_concurrency
        self.warm = warm
        self.function_logs = function_logs
        self._log_dir_arg = Path(log_dir) if log_dir else None
        self.keep_logs = keep_logs
        self.out: Callable[[str], None] = out or default_out
        self.print_requests = print_requests
        self.print_copies = print_copies
        self.require_health = require_health
        self.ready_timeout = ready_timeout
        self.esm_wait_seconds = esm_wait_seconds
        if schedule_seconds <= 0:
            raise ValueError("schedule_seconds must be > 0")
        self.schedule_seconds = schedule_seconds
        self.subprocess_output = subprocess_output
        self.listener = listener  # the leader listener process (``make dev`` turns it on)
        # Home mode: state kept in this folder (devstack.home); None = everything in memory.
        self.data_dir = Path(data_dir).resolve() if data_dir is not None else None

        # filled by start()
        self.api_url = ""
        self.dynamodb_endpoint = ""
        self.moto_endpoint = ""
        self.region = DEFAULT_REGION
        self.account_id = ACCOUNT_ID
        self.tables: dict[str, str] = {}
        self.functions: dict[str, str] = {}
        self.resources: dict[str, str] = {}
        self.routes: list[str] = []
        self.moto_report: dict[str, str] = {}
        self.log_dir: Path | None = None
        self.ready_seconds: float | None = None
        self.timings: dict[str, float] = {}
        self.pid: int | None = None
        self.restored: dict[str, int] | None = None  # home mode: what the start restored
        self.purged: int | None = None  # home mode: expired items deleted at start (devstack.expiry)
        self.key_location: str | None = None

        self._started = False
        self._stopping = False
        self._cleanups: list[tuple[str, Callable[[], None]]] = []
        self._saved_env: dict[str, str | None] = {}
        self._proc: subprocess.Popen[bytes] | None = None
        self._runtimes: dict[str, Any] = {}
        self._esm: Any = None
        self._api: Any = None
        self._moto: Any = None  # devstack.motoserver.MotoServer
        self._copy_log: CopyLog | None = None
        self._home: Any = None  # devstack.home.DataDir
        self._vault: Any = None  # devstack.vault.Vault

    # -- public ----------------------------------------------------------------------------------
    @property
    def client_env(self) -> dict[str, str]:
        """Variables that point boto3 (and the handlers) at this stack."""
        return {
            "AWS_ENDPOINT_URL": self.moto_endpoint,
            "AWS_ENDPOINT_URL_DYNAMODB": self.dynamodb_endpoint,
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
            **FAKE_CREDENTIALS,
        }

    def client(self, service: str, config: Any = None) -> Any:
        """A boto3 client of this stack (``config``: a botocore ``Config``)."""
        import boto3

        make: Any = boto3.client  # any service name, hence untyped
        endpoint = (
            self.dynamodb_endpoint if service in ("dynamodb", "dynamodbstreams") else self.moto_endpoint
        )
        return make(
            service,
            endpoint_url=endpoint,
            region_name=self.region,
            aws_access_key_id=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            aws_session_token=FAKE_CREDENTIALS["AWS_SESSION_TOKEN"],
            config=config,
        )

    def info(self) -> dict[str, Any]:
        return {
            "api_url": self.api_url,
            "dynamodb_endpoint": self.dynamodb_endpoint,
            "moto_endpoint": self.moto_endpoint,
            "region": self.region,
            "account_id": self.account_id,
            "stack_name": self.stack_name,
            "tables": self.tables,
            "functions": self.functions,
            "resources": self.resources,
            "routes": self.routes,
            "moto_report": self.moto_report,
            "log_dir": str(self.log_dir) if self.log_dir else None,
            "ready_seconds": self.ready_seconds,
            "timings": self.timings,
            "pid": self.pid,
            "data_dir": str(self.data_dir) if self.data_dir else None,
            "restored": self.restored,
            "purged": self.purged,
            "key_location": self.key_location,
        }

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> LocalStack:
        if self._started:
            return self
        if self.mode == "subprocess":
            self._start_subprocess()
        else:
            global _inprocess_active
            with _inprocess_lock:
                if _inprocess_active is not None:
                    raise StackError(
                        "another LocalStack already runs in this process (it owns os.environ's AWS "
                        "endpoint variables); use mode='subprocess' for a second one."
                    )
                _inprocess_active = self
            try:
                self._start_inprocess()
            except BaseException:
                self.stop()
                raise
        self._started = True
        return self

    def stop(self) -> None:
        """Stops everything this stack started, in reverse order. Safe to call more than once."""
        global _inprocess_active
        if self._stopping:
            return
        self._stopping = True
        try:
            if self._proc is not None:
                self._stop_subprocess()
            if self._api is not None:  # no new requests first
                with contextlib.suppress(Exception):
                    self._api.stop()
            while self._cleanups:
                name, fn = self._cleanups.pop()
                try:
                    fn()
                except Exception as exc:
                    self.out(f"[devstack] stopping {name} failed: {exc}")
        finally:
            for key, value in self._saved_env.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
            self._saved_env.clear()
            with _inprocess_lock:
                if _inprocess_active is self:
                    _inprocess_active = None
            self._started = False
            self._stopping = False

    # -- subprocess mode -------------------------------------------------------------------------
    def _cli_args(self, ready_file: str) -> list[str]:
        args = [
            sys.executable,
            "-m",
            "devstack",
            "--port",
            str(self.port),
            "--host",
            self.host,
            "--template",
            str(self.template),
            "--stack-name",
            self.stack_name,
            "--isolation",
            self.isolation,
            "--function-logs",
            self.function_logs,
            "--default-concurrency",
            str(self.default_concurrency),
            "--ready-file",
            ready_file,
            "--ready-timeout",
            str(self.ready_timeout),
            "--schedule-seconds",
            str(self.schedule_seconds),
        ]
        for name, n in self.concurrency.items():
            args += ["--concurrency", f"{name}={n}"]
        if not self.warm:
            args.append("--cold")
        if not self.print_requests:
            args.append("--no-print-requests")
        if not self.print_copies:
            args.append("--no-print-copies")
        if self._log_dir_arg:
            args += ["--log-dir", str(self._log_dir_arg)]
        if not self.require_health:
            args.append("--no-health-check")
        args.append("--keep-logs" if self.keep_logs else "--no-keep-logs")
        args.append("--listener" if self.listener else "--no-listener")
        args += ["--data-dir", str(self.data_dir)] if self.data_dir else ["--memory"]
        return args

    def _start_subprocess(self) -> None:
        fd, ready_file = tempfile.mkstemp(prefix="devstack-ready-", suffix=".json")
        os.close(fd)
        os.unlink(ready_file)
        started = time.monotonic()
        env = {k: v for k, v in os.environ.items() if not k.startswith("DEVSTACK_")}
        self._proc = subprocess.Popen(
            self._cli_args(ready_file),
            cwd=str(REPO_ROOT),
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self.subprocess_output,
            stderr=subprocess.STDOUT if self.subprocess_output is not None else None,
            start_new_session=True,  # its own process group: stop() can always clean it up whole
        )
        self.pid = self._proc.pid
        deadline = started + self.ready_timeout + 30
        try:
            while True:
                if os.path.exists(ready_file):
                    try:
                        with open(ready_file, encoding="utf-8") as fh:
                            data = json.load(fh)
                        break
                    except ValueError:
                        pass  # being written
                code = self._proc.poll()
                if code is not None:
                    raise StackError(f"`python -m devstack` exited with code {code} before it was ready.")
                if time.monotonic() > deadline:
                    raise StackError(f"`python -m devstack` was not ready after {deadline - started:.0f} s.")
                time.sleep(0.05)
        except BaseException:
            self._stop_subprocess()
            raise
        finally:
            with contextlib.suppress(OSError):
                os.unlink(ready_file)
        for key in (
            "api_url",
            "dynamodb_endpoint",
            "moto_endpoint",
            "region",
            "account_id",
            "stack_name",
            "tables",
            "functions",
            "resources",
            "routes",
            "moto_report",
            "ready_seconds",
            "timings",
            "restored",
            "purged",
            "key_location",
        ):
            setattr(self, key, data[key])
        self.log_dir = Path(data["log_dir"]) if data.get("log_dir") else None

    def _stop_subprocess(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=20)
        # Whatever is left in its process group (it should be nothing) goes too.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=5)

    # -- in-process mode: one method per start-up step -------------------------------------------
    def _set_env(self, values: dict[str, str]) -> None:
        for key, value in values.items():
            if key not in self._saved_env:
                self._saved_env[key] = os.environ.get(key)
            os.environ[key] = value

    def _mark(self, phase: str, t0: float) -> None:
        self.timings[phase] = round(time.monotonic() - t0, 2)

    def _start_inprocess(self) -> None:
        """The start-up steps, in order; DynamoDB Local and moto start in the background while the
        template is translated (``timings`` records when each step ended)."""
        t0 = time.monotonic()
        self.pid = os.getpid()
        self._check_prerequisites()
        self._open_data_dir()
        self._open_http_front()
        # Fake credentials in os.environ before anything imports a handler.
        self._set_env({"AWS_REGION": self.region, "AWS_DEFAULT_REGION": self.region, **FAKE_CREDENTIALS})
        ddb = self._start_dynamodb_local()
        self._start_moto()
        translated = self._translate_template()
        self._mark("translate", t0)
        self._wait_for_moto()
        self._restore_secrets()
        self._mark("moto", t0)
        self._package(translated)
        self._mark("package", t0)
        self._wait_for_dynamodb_local(ddb)
        self._mark("dynamodb_local", t0)
        local_values = self._create_tables(translated)
        self._mark("tables", t0)
        self._purge_expired_items()
        self._create_stack(translated, local_values)
        self._mark("create_stack", t0)
        specs = self._configure_functions(translated)
        routes = self._tpl.http_routes(translated.cfn)
        self.routes = [f"{r.route_key} -> {r.function_logical_id}" for r in routes]
        self._start_runtimes(specs, routes)
        self._mark("environments", t0)
        self._serve_http(routes)
        self._start_pollers(specs)
        self._mark("pollers", t0)
        if self._restore_fanout(specs):
            self._mark("restore", t0)
        self._start_schedules(translated)
        self._start_listener(specs)
        if self.require_health:  # ready = GET /health answers 200 (from the admin function)
            self._wait_healthy()
            self._mark("health", t0)
        self.ready_seconds = round(time.monotonic() - t0, 2)

    @property
    def _tpl(self) -> Any:
        """devstack.template, imported when first used (it brings the SAM translator)."""
        from devstack import template

        return template

    def _check_prerequisites(self) -> None:
        """Fail fast, with one sentence: the port, java, the DynamoDB Local jar, the template."""
        if self.port and not _port_free(self.host, self.port):
            raise StackError(
                f"port {self.port} on {self.host} is already in use; pick another with --port / PORT=."
            )
        if shutil.which("java") is None:
            raise StackError(
                "`java` was not found on PATH: DynamoDB Local needs Java 17+ "
                "(apt-get install openjdk-17-jre-headless)."
            )
        from devstack.dynamodb_local import DynamoDBLocalError, find_jar_dir

        try:
            find_jar_dir()
        except DynamoDBLocalError as exc:
            hint = (
                ""
                if shutil.which("npm")
                else " `npm` was not found on PATH either: install Node.js/npm first."
            )
            raise StackError(f"{exc}{hint}") from exc
        if not self.template.is_file():
            raise StackError(f"template {self.template} does not exist.")

    def _open_data_dir(self) -> None:
        """Home mode: lock the data folder, check its format, open the key of its secrets."""
        if self.data_dir is None:
            return
        from devstack.home import DataDir, HomeError
        from devstack.vault import Vault

        try:
            self._home = DataDir(self.data_dir).open()
            self._cleanups.append(("data folder lock", self._home.close))
            self._vault = Vault(self._home.secrets_file, self._home.data_id)
        except HomeError as exc:
            raise StackError(str(exc)) from exc
        self.key_location = self._vault.key_location

    def _restore_secrets(self) -> None:
        """Home mode: the encrypted secrets back into moto's Secrets Manager; saved again at stop."""
        if self._vault is None:
            return
        from devstack.home import HomeError
        from devstack.vault import write_secrets

        try:
            entries = self._vault.load()
        except HomeError as exc:
            raise StackError(str(exc)) from exc
        write_secrets(self.client("secretsmanager"), entries)
        self._cleanups.append(("secrets", self._save_secrets))

    def _save_secrets(self) -> None:
        from devstack.vault import read_secrets

        if self._vault is not None:
            self._vault.save(read_secrets(self.client("secretsmanager")))

    def _persist_secrets_after(self, event: dict[str, Any]) -> None:
        """A request that may have changed credentials: the encrypted file is written before the
        answer goes out, so a credential the API accepted survives a kill."""
        if self._vault is None:
            return
        route_key = str(event.get("routeKey", ""))
        if "/credentials" in route_key and not route_key.startswith(("GET ", "HEAD ")):
            try:
                self._save_secrets()
            except Exception as exc:
                self.out(f"[devstack] could not save the encrypted secrets: {exc}")

    def _restore_fanout(self, specs: dict[str, Any]) -> bool:
        """Home mode: topics, queues, subscriptions and mappings from the table; pending copies
        re-driven to the executor (devstack.restore). False in memory (nothing to restore)."""
        if self._home is None:
            return False
        from devstack.restore import import_layer, restore_fanout

        admin = specs.get("AdminFunction")
        if admin is None:
            raise StackError("the template has no AdminFunction: nothing can restore the fan-out.")
        import_layer(admin.layer_dirs)
        done = restore_fanout(
            dict(admin.environment),
            dynamodb=self.client("dynamodb"),
            sns=self.client("sns"),
            sqs=self.client("sqs"),
            lambda_=self.client("lambda"),
            cloudwatch=self.client("cloudwatch"),
        )
        self.restored = {"groups": done.groups, "followers": done.followers, "redriven": done.redriven}
        return True

    def _open_http_front(self) -> None:
        """Binds the HTTP API's port first (``api_url`` is known from here on); no routes yet."""
        from devstack.apigw import HttpApi

        try:
            self._api = HttpApi(
                host=self.host,
                port=self.port,
                routes=[],
                invoke=self._invoke_http,
                account_id=self.account_id,
                observer=self._on_request if self.print_requests else None,
            )
        except OSError as exc:
            raise StackError(f"cannot listen on {self.host}:{self.port}: {exc.strerror or exc}.") from exc
        self._cleanups.append(("http api", self._api.stop))
        self.api_url = self._api.url

    def _start_dynamodb_local(self) -> _Starting:
        from devstack.dynamodb_local import DynamoDBLocal

        # C1 only: the JVM is ready in ~1.5 s instead of 4-7 s on 2 busy cores, and serves requests as
        # fast (measured: put+get p50 2.8 ms either way, p90 lower).
        home = self._home
        ddb = DynamoDBLocal(
            extra_jvm_args=("-XX:TieredStopAtLevel=1",),
            db_path=home.dynamodb_dir if home is not None else None,
            pass_fds=(home.lock_fd,) if home is not None else (),
        )
        self._cleanups.append(("DynamoDB Local", ddb.stop))
        return _Starting(ddb.start, "devstack-ddb-start", ddb)

    def _wait_for_dynamodb_local(self, starting: _Starting) -> None:
        error = starting.wait()
        if error is not None:
            raise StackError(f"DynamoDB Local did not start: {error}")
        self.dynamodb_endpoint = starting.server.endpoint
        self._set_env(self.client_env)

    def _start_moto(self) -> None:
        from devstack.motoserver import MotoServer

        self._moto = MotoServer(self.host)  # starts while the template is translated
        self._cleanups.append(("moto", self._moto.stop))

    def _wait_for_moto(self) -> None:
        from devstack.motoserver import MotoServerError

        try:
            self.moto_endpoint = self._moto.wait_ready()
        except MotoServerError as exc:
            raise StackError(str(exc)) from exc

    def _translate_template(self) -> Any:
        """template.yaml -> CloudFormation, with AWS's SAM translator (and the code zips to upload)."""
        tpl = self._tpl
        try:
            return tpl.translate(self.template)
        except tpl.TemplateError as exc:
            raise StackError(str(exc)) from exc

    def _package(self, translated: Any) -> None:
        """The functions' and layers' code into moto's S3, as ``sam package`` would."""
        self._tpl.upload_artifacts(self.client("s3"), translated.artifacts)

    def _create_tables(self, translated: Any) -> dict[str, dict[str, str]]:
        """The template's tables in DynamoDB Local; returns what Ref / GetAtt of each resolve to."""
        from devstack.tables import create_tables_from_template

        dynamodb = self.client("dynamodb")
        self.tables = create_tables_from_template(
            dynamodb, self.template, name_suffix=self.stack_name, keep_existing=self._home is not None
        )
        local_values: dict[str, dict[str, str]] = {}
        for lid, name in self.tables.items():
            desc = dynamodb.describe_table(TableName=name)["Table"]
            local_values[lid] = {"Ref": name, "Arn": desc["TableArn"]}
            if desc.get("LatestStreamArn"):
                local_values[lid]["StreamArn"] = desc["LatestStreamArn"]
        missing = set(self._tpl.table_logical_ids(translated.cfn)) - set(local_values)
        if missing:
            raise StackError(f"tables {sorted(missing)} of the template were not created in DynamoDB Local.")
        return local_values

    def _purge_expired_items(self) -> None:
        """Home mode: DynamoDB Local never applies TTL, so expired items are deleted here, before
        the restore scans them, and then hourly (devstack.expiry)."""
        if self._home is None:
            return
        from devstack.expiry import purge_every, purge_expired

        dynamodb, tables = self.client("dynamodb"), list(self.tables.values())
        self.purged = purge_expired(dynamodb, tables, time.time())
        stopped = threading.Event()
        self._cleanups.append(("expiry", stopped.set))
        purge_every(lambda: purge_expired(dynamodb, tables, time.time()), stopped, report=self.out)

    def _create_stack(self, translated: Any, local_values: dict[str, dict[str, str]]) -> None:
        """Every other resource in moto's CloudFormation (the tables resolved to DynamoDB Local's)."""
        tpl = self._tpl
        cfn_for_moto = tpl.drop_resources(translated.cfn, local_values)
        try:
            created = tpl.create_stack(self.client("cloudformation"), self.stack_name, cfn_for_moto)
        except tpl.TemplateError as exc:
            raise StackError(str(exc)) from exc
        self.resources = {lid: r.get("PhysicalResourceId", "") for lid, r in created["resources"].items()}
        self.resources.update(self.tables)
        self.moto_report = {
            lid: f"AWS::DynamoDB::Table: {name} (in DynamoDB Local)" for lid, name in self.tables.items()
        }
        self.moto_report.update(created["report"])

    def _configure_functions(self, translated: Any) -> dict[str, Any]:
        """The functions: environment as moto resolved it, code from the template's CodeUri."""
        specs: dict[str, Any] = self._tpl.function_specs(translated.cfn, translated.artifacts)
        lam = self.client("lambda")
        for lid, spec in specs.items():
            conf = lam.get_function_configuration(FunctionName=self.resources[lid])
            spec.name = conf["FunctionName"]
            spec.arn = conf["FunctionArn"]
            variables = (conf.get("Environment") or {}).get("Variables") or {}
            spec.environment = {str(k): _env_str(v) for k, v in variables.items()}
            self.functions[lid] = spec.name
        return specs

    def _start_runtimes(self, specs: dict[str, Any], routes: list[Any]) -> None:
        """The execution environments of every function (warmed in the background)."""
        from devstack.runtime import FunctionRuntime

        self._open_function_logs()
        shared_env: dict[str, str] = {}
        for lid, spec in specs.items():
            log: IO[bytes] | None = None
            if self.log_dir is not None:
                log = open(self.log_dir / f"{lid}.log", "ab")  # noqa: SIM115 - closed at stop
                self._cleanups.append((f"{lid} log", log.close))
            if self.isolation == "thread":
                for key, value in spec.environment.items():
                    if shared_env.get(key, value) != value:
                        self.out(
                            f"[devstack] warning: {key} differs between functions; "
                            "thread isolation shares one value"
                        )
                    shared_env[key] = value
            runtime = FunctionRuntime(
                spec,
                env=self._function_env(spec),
                concurrency=self.concurrency.get(lid, self.default_concurrency),
                isolation=self.isolation,
                log=log,
            )
            self._runtimes[lid] = runtime
            self._cleanups.append((f"{lid} environments", runtime.stop))
        if shared_env:
            self._set_env(shared_env)
            self._set_env({"POWERTOOLS_TRACE_DISABLED": os.environ.get("POWERTOOLS_TRACE_DISABLED", "true")})
        if self.warm:
            self._warm(routes)

    def _open_function_logs(self) -> None:
        if self.function_logs != "file":
            return
        if self._log_dir_arg is not None:
            self._log_dir_arg.mkdir(parents=True, exist_ok=True)
            self.log_dir = self._log_dir_arg
            return
        log_dir = self.log_dir = Path(tempfile.mkdtemp(prefix=f"devstack-{self.stack_name}-"))
        if not self.keep_logs:
            self._cleanups.append(("logs", lambda: shutil.rmtree(log_dir, ignore_errors=True)))

    def _function_env(self, spec: Any) -> dict[str, str]:
        """A function's process environment: this one's, Lambda's variables, the function's own,
        then the variables that point boto3 at this stack."""
        from devstack.runtime import lambda_environment

        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH" and not k.startswith("DEVSTACK_")}
        env.update(lambda_environment(spec, self.region))
        if profile_dir := os.environ.get("DEVSTACK_PROFILE_DIR"):
            env["DEVSTACK_PROFILE_DIR"] = profile_dir  # devstack.profiling: cProfile each invocation
        env.setdefault("POWERTOOLS_TRACE_DISABLED", "true")  # no X-Ray daemon locally
        env.update(spec.environment)
        if "ALERT_WEBHOOK_URL" in spec.environment and os.environ.get("ALERT_WEBHOOK_URL"):
            # The local setting of the AlertWebhookUrl parameter: `ALERT_WEBHOOK_URL=https://... make dev`.
            env["ALERT_WEBHOOK_URL"] = os.environ["ALERT_WEBHOOK_URL"]
        env.update(self.client_env)
        return env

    def _warm(self, routes: list[Any]) -> None:
        """The function behind GET /health first (readiness waits for it), then one environment of
        every other function at once, then the rest -- all in the background."""
        from devstack.apigw import Router

        health = Router(routes).match("GET", "/health")
        first = health[0].function_logical_id if health else None
        if first in self._runtimes:
            self._runtimes[first].warm(1)

        def warm_rest() -> None:
            threads = [
                threading.Thread(target=rt.warm, args=(1,), daemon=True) for rt in self._runtimes.values()
            ]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            for rt in self._runtimes.values():
                if not self._stopping:
                    rt.warm()

        threading.Thread(target=warm_rest, name="devstack-warm", daemon=True).start()

    def _serve_http(self, routes: list[Any]) -> None:
        """The HTTP API answers from here on: the template's routes, to the functions."""
        from devstack.apigw import Router

        self._api.router = Router(routes)
        if "BoardFunction" in self._runtimes:
            self._api.home = "BoardFunction"  # the follower board at http://127.0.0.1:3000/
        self._api.start()

    def _start_pollers(self, specs: dict[str, Any]) -> None:
        """The SQS event source mappings, emulated: one poller per mapping, reconciled at once when
        moto reports a mapping created, updated or deleted."""
        from devstack.esm import EventSourceMappings
        from devstack.sqsjson import SqsJsonClient

        by_arn = {spec.arn: lid for lid, spec in specs.items()}
        by_arn.update({spec.name: lid for lid, spec in specs.items()})

        def function_for_arn(arn: str) -> str | None:
            parts = arn.split(":")
            base = ":".join(parts[:7]) if len(parts) > 7 else arn
            return by_arn.get(base) or by_arn.get(parts[6] if len(parts) > 6 else arn)

        # The pollers' SQS calls: plain JSON over one kept-alive connection per poller (the Lambda
        # service's own client is invisible to the function; botocore's was ~1.5 ms a call).
        sqs = SqsJsonClient(
            self.moto_endpoint,
            self.region,
            access_key=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            read_timeout=self.esm_wait_seconds + 20,
        )
        if self.print_copies:
            self._copy_log = CopyLog(self.out, self._internal_get, lambda: self._stopping)
        self._esm = EventSourceMappings(
            lambda_client=self.client("lambda"),
            sqs_client=sqs,
            invoke=self._invoke,
            function_for_arn=function_for_arn,
            region=self.region,
            on_batch=self._copy_log.on_batch if self._copy_log else None,
            log=self.out,
            wait_seconds=self.esm_wait_seconds,
        )
        self._moto.listeners.append(self._esm.notify)
        self._cleanups.append(("event source mappings", self._stop_esm))
        self._esm.start()

    def _start_schedules(self, translated: Any) -> None:
        """The template's EventBridge Scheduler schedules, on this stack's own clock: each target
        function is invoked every ``schedule_seconds`` (default 60, the template's ``rate(1 minute)``;
        smaller in tests), one invocation at a time, as Scheduler does with an empty input."""
        stopped = threading.Event()
        self._cleanups.append(("schedules", stopped.set))
        for schedule, function in self._tpl.scheduled_functions(translated.cfn).items():
            if function not in self._runtimes:
                continue

            def run(function: str = function, schedule: str = schedule) -> None:
                while not stopped.wait(self.schedule_seconds):
                    try:
                        result = self._runtimes[function].invoke({})
                    except Exception as exc:
                        self.out(f"[schedule] {schedule} -> {function} failed: {exc}")
                        continue
                    if result.error is not None:
                        self.out(
                            f"[schedule] {function} failed: {result.error.get('errorType')}: "
                            f"{result.error.get('errorMessage')}"
                        )

            threading.Thread(target=run, name=f"devstack-{schedule}", daemon=True).start()

    def _start_listener(self, specs: dict[str, Any]) -> None:
        """The leader listener (``python -m listener``, a process as on AWS) for every group whose
        leader has a real broker; it picks groups up and drops them itself. Its environment: the
        executor's table and secret names (the template's ``ListenerTaskDefinition`` gives it the
        same), pointed at this stack."""
        if not self.listener or "ExecutorFunction" not in specs:
            return
        env = self._function_env(specs["ExecutorFunction"])
        root = Path(__file__).resolve().parent.parent
        env["PYTHONPATH"] = os.pathsep.join([str(root), str(root / "layers" / "common")])
        env.setdefault("POWERTOOLS_SERVICE_NAME", "trade-copier")
        out: Any = None
        if self.log_dir is not None:
            out = open(self.log_dir / "Listener.log", "ab")  # noqa: SIM115 - closed at stop
            self._cleanups.append(("listener log", out.close))
        proc = subprocess.Popen(
            [sys.executable, "-m", "listener"],
            env=env,
            cwd=str(root),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT if out is not None else None,
        )

        def stop() -> None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)

        self._cleanups.append(("listener", stop))
        self.resources["Listener"] = f"pid {proc.pid}"

    def _stop_esm(self) -> None:
        if self._esm is not None:
            self._esm.stopped.set()
            for poller in list(self._esm.pollers.values()):
                poller.stop()

    def _wait_healthy(self) -> None:
        url = self.api_url + "/health"
        deadline = time.monotonic() + self.ready_timeout
        last = ""
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(url, timeout=10) as resp:
                    if resp.status == 200:
                        return
                    last = f"HTTP {resp.status}"
            except urllib.error.HTTPError as exc:
                last = f"HTTP {exc.code}: {exc.read()[:200]!r}"
            except OSError as exc:
                last = str(exc)
            time.sleep(0.1)
        raise StackError(f"GET /health did not answer 200 within {self.ready_timeout:.0f} s ({last}).")

    # -- invocation ------------------------------------------------------------------------------
    def _invoke(self, function: str, event: dict[str, Any]) -> Any:
        return self._runtimes[function].invoke(event)

    def _invoke_http(self, function: str, event: dict[str, Any]) -> Any:
        result = self._runtimes[function].invoke(event)
        self._persist_secrets_after(event)
        line = function_error_line(function, result)
        if line is not None:
            self.out(line)
        return result

    def _on_request(self, method: str, path: str, status: int, ms: float, route: Any) -> None:
        self.out(request_line(method, path, status, ms, route))

    def _internal_get(self, path: str) -> tuple[int, Any]:
        """GET through the HTTP API's route to its function, without a socket (and not printed)."""
        from devstack.apigw import _request_id, build_event, to_http_response

        matched = self._api.router.match("GET", path)
        if matched is None:
            return 404, None
        route, params = matched
        event = build_event(
            route=route,
            path_params=params,
            method="GET",
            raw_path=path,
            raw_query="",
            header_pairs=[("host", f"{self.host}:{self.port}"), ("user-agent", "devstack-copy-log")],
            body=b"",
            source_ip="127.0.0.1",
            api_id=self._api.api_id,
            account_id=self.account_id,
            request_id=_request_id(),
        )
        status, _, data = to_http_response(self._runtimes[route.function_logical_id].invoke(event))
        try:
            return status, json.loads(data) if data else None
        except ValueError:
            return status, None

    def summary(self) -> str:
        return summary(self)


def _env_str(value: Any) -> str:
    """Lambda environment values are strings (CloudFormation turns numbers and booleans into them)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class _Starting:
    """A server's blocking ``start`` run in a background thread; ``wait`` joins it and returns the
    error it raised, if any."""

    def __init__(self, start: Callable[[], Any], name: str, server: Any) -> None:
        self.server = server
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(start,), name=name, daemon=True)
        self._thread.start()

    def _run(self, start: Callable[[], Any]) -> None:
        try:
            start()
        except BaseException as exc:
            self._error = exc

    def wait(self) -> BaseException | None:
        self._thread.join()
        return self._error

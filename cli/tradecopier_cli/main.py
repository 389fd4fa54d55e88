"""The ``tradecopier`` commands (click). Every command is one or a few API calls and a table, or
the API's own JSON with ``--json``."""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass, field
from typing import Any

import click

from tradecopier.board import status as board_status
from tradecopier.board.api_client import ApiClient, ApiError, Unreachable, path
from tradecopier_cli import API_REFUSED, INTERRUPTED, NOT_FOUND, OK, TARGET, USAGE, output, target

SECRET_FIELDS = {"projectx": ("api_key",), "tradovate": ("password", "sec")}
ALL_SECRETS = {name for names in SECRET_FIELDS.values() for name in names}


@dataclass
class Ctx:
    url: str = "http://127.0.0.1:3000"
    stack: str | None = None
    region: str | None = None
    as_json: bool = False
    _client: ApiClient | None = field(default=None, repr=False)

    @property
    def api(self) -> ApiClient:
        if self._client is None:
            self._client = target.deployed(self.stack, self.region) if self.stack else target.local(self.url)
        return self._client

    def show(self, data: Any, people: Any = None) -> None:
        """``--json``: the data as JSON; else ``people(data)`` (a table) or the JSON."""
        if self.as_json or people is None:
            output.emit_json(data)
        else:
            people(data)


pass_ctx = click.make_pass_decorator(Ctx)


def _fields(pairs: tuple[str, ...], *, as_json: bool = True) -> dict[str, Any]:
    """``name=value`` pairs. Follower settings: a value that parses as JSON is JSON (numbers, null,
    objects). Credentials (``as_json=False``): text, except whole numbers (``cid=1234``)."""
    fields: dict[str, Any] = {}
    for pair in pairs:
        name, sep, raw = pair.partition("=")
        if not sep or not name:
            raise click.BadParameter(f"{pair!r} is not name=value", param_hint="--field")
        if not as_json:
            fields[name] = int(raw) if raw.isdigit() else raw
            continue
        try:
            fields[name] = json.loads(raw)
        except ValueError:
            fields[name] = raw
    return fields


def _json_anywhere(ctx: click.Context, _: click.Parameter, value: bool) -> None:
    if value:
        ctx.ensure_object(Ctx).as_json = True


class Command(click.Command):
    """Every command also takes ``--json`` after its name (``tradecopier status --json``)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.params.append(
            click.Option(
                ["--json"],
                is_flag=True,
                expose_value=False,
                callback=_json_anywhere,
                help="JSON for scripts instead of tables.",
            )
        )


class Group(click.Group):
    command_class = Command
    group_class = type  # subgroups are Groups too, so their commands take --json as well


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--url",
    default="http://127.0.0.1:3000",
    envvar="TRADECOPIER_URL",
    show_default=True,
    help="API of the local stack (make dev).",
)
@click.option(
    "--stack",
    default=None,
    envvar="TRADECOPIER_STACK",
    help="A deployed stack: ApiUrl from its outputs, calls signed with SigV4.",
)
@click.option("--region", default=None, help="AWS region of --stack (default: the AWS config's).")
@click.option("--json", "as_json", is_flag=True, help="JSON for scripts instead of tables.")
@click.pass_context
def cli(ctx: click.Context, url: str, stack: str | None, region: str | None, as_json: bool) -> None:
    """Trade copier from the command line. Exit codes: 0 ok, 1 API refused, 2 bad usage,
    3 not found, 4 target unusable (stack down, no ApiUrl, AWS credentials), 130 interrupted."""
    ctx.obj = Ctx(url=url, stack=stack, region=region, as_json=as_json)


# -- status / tail ---------------------------------------------------------------------------------
@cli.command()
@click.argument("groups", nargs=-1)
@pass_ctx
def status(c: Ctx, groups: tuple[str, ...]) -> None:
    """Groups and followers: state, broker, sizing, position, P&L, last copy and its latency."""
    data = board_status.collect(c.api.get, list(groups) or None)
    c.show(data, output.status_tables)


@cli.command()
@click.argument("group")
@click.option("--interval", default=1.0, show_default=True, help="Seconds between polls.")
@click.option("--timeout", "seconds", type=float, default=None, help="Stop after this many seconds.")
@pass_ctx
def tail(c: Ctx, group: str, interval: float, seconds: float | None) -> None:
    """Copy decisions as they happen (until Ctrl-C): one line per copy that reaches its status."""
    seen: set[tuple[str, str, str]] = set()
    route = path("groups", group, "events")
    for event in c.api.get(route, {"limit": 100})["events"]:  # what is already there is not news
        seen.update((event["event_id"], cp["account_id"], cp["status"]) for cp in event.get("copies") or [])
    deadline = None if seconds is None else time.monotonic() + seconds
    while deadline is None or time.monotonic() < deadline:
        time.sleep(interval)
        for event in reversed(c.api.get(route, {"limit": 20})["events"]):
            for cp in event.get("copies") or []:
                key = (event["event_id"], cp["account_id"], cp["status"])
                if key in seen or cp["status"] == "pending":
                    continue
                seen.add(key)
                _tail_line(c, event, cp)


def _tail_line(c: Ctx, event: dict[str, Any], cp: dict[str, Any]) -> None:
    if c.as_json:
        sys.stdout.write(json.dumps({"event_id": event["event_id"], "type": event.get("type"), **cp}) + "\n")
    else:
        latency = "" if cp.get("latency_ms") is None else f" {cp['latency_ms']} ms"
        reason = f" ({cp['reason']})" if cp.get("reason") else ""
        click.echo(
            f"{event['event_id']} {event.get('type')} -> {cp['account_id']}: {cp['status']} "
            f"{cp.get('qty') or ''}{latency}{reason}"
        )
    sys.stdout.flush()


# -- groups ----------------------------------------------------------------------------------------
@cli.group()
def groups() -> None:
    """Create, list, show and delete groups."""


@groups.command("create")
@click.argument("name")
@click.option("--leader", required=True, help="The leader's account id.")
@click.option("--broker", default="paper", show_default=True)
@pass_ctx
def groups_create(c: Ctx, name: str, leader: str, broker: str) -> None:
    """A group; its webhook token is shown once, here."""
    body = c.api.request(
        "POST", "/groups", {"name": name, "leader": {"account_id": leader, "broker": broker}}
    )
    c.show(
        body,
        lambda b: output.table(
            None,
            ("group_id", "name", "leader", "webhook_token (shown once)"),
            [[b["group_id"], b["name"], b["leader"]["account_id"], b["webhook_token"]]],
        ),
    )


@groups.command("list")
@pass_ctx
def groups_list(c: Ctx) -> None:
    body = c.api.get("/groups")
    c.show(
        body,
        lambda b: output.table(
            None,
            ("group_id", "name", "leader", "followers", "created_at"),
            [
                [
                    g["group_id"],
                    g["name"],
                    g["leader"]["account_id"],
                    len(g.get("followers") or []),
                    g.get("created_at"),
                ]
                for g in b["groups"]
            ],
        ),
    )


@groups.command("show")
@click.argument("group")
@pass_ctx
def groups_show(c: Ctx, group: str) -> None:
    body = c.api.get(path("groups", group))
    c.show(
        body,
        lambda g: output.table(
            f"{g['name']} {g['group_id']} leader {g['leader']['account_id']}",
            output.FOLLOWER_COLUMNS,
            output.follower_rows(g.get("followers") or []),
        ),
    )


@groups.command("delete")
@click.argument("group")
@click.option("--yes", is_flag=True, help="Do not ask.")
@pass_ctx
def groups_delete(c: Ctx, group: str, yes: bool) -> None:
    """Deletes the group, its followers and their queues."""
    if not yes:
        click.confirm(f"delete group {group} and all its followers?", abort=True)
    c.api.request("DELETE", path("groups", group))
    c.show({"group_id": group, "deleted": True}, lambda _: click.echo(f"group {group} deleted"))


# -- followers -------------------------------------------------------------------------------------
def _settings_options(fn: Any) -> Any:
    for option in reversed(
        [
            click.option("--multiplier", type=float, default=None),
            click.option("--max-qty", type=int, default=None),
            click.option("--no-max-qty", is_flag=True, help="Remove the quantity cap (max_qty null)."),
            click.option("--rounding", type=click.Choice(["half_up", "floor", "ceil"]), default=None),
            click.option("--simulate", type=click.Choice(["reject", "disconnect", "none"]), default=None),
            click.option(
                "--field",
                "fields",
                multiple=True,
                metavar="NAME=JSON",
                help="Any other follower setting (symbol_map, inverse, risk, ...), repeatable.",
            ),
        ]
    ):
        fn = option(fn)
    return fn


def _settings_body(options: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = {
        k: options[k] for k in ("multiplier", "max_qty", "rounding") if options[k] is not None
    }
    if options["no_max_qty"]:
        body["max_qty"] = None
    if options["simulate"] is not None:
        body["simulate"] = None if options["simulate"] == "none" else options["simulate"]
    body.update(_fields(options["fields"]))
    return body


def _show_follower(c: Ctx, follower: dict[str, Any]) -> None:
    c.show(follower, lambda f: output.table(None, output.FOLLOWER_COLUMNS, output.follower_rows([f])))


@cli.group()
def followers() -> None:
    """Add, change, remove, lock, unlock and reset followers."""


@followers.command("add")
@click.argument("group")
@click.argument("account")
@click.option("--broker", default="paper", show_default=True)
@_settings_options
@pass_ctx
def followers_add(c: Ctx, /, group: str, account: str, broker: str, **options: Any) -> None:
    body = {"account_id": account, "broker": broker, **_settings_body(options)}
    _show_follower(c, c.api.request("POST", path("groups", group, "followers"), body))


@followers.command("set")
@click.argument("group")
@click.argument("account")
@_settings_options
@pass_ctx
def followers_set(c: Ctx, /, group: str, account: str, **options: Any) -> None:
    """Changes only the settings given."""
    body = _settings_body(options)
    if not body:
        raise click.UsageError("nothing to change: give at least one setting (e.g. --multiplier 2)")
    _show_follower(c, c.api.request("PATCH", path("groups", group, "followers", account), body))


@followers.command("remove")
@click.argument("group")
@click.argument("account")
@pass_ctx
def followers_remove(c: Ctx, group: str, account: str) -> None:
    c.api.request("DELETE", path("groups", group, "followers", account))
    c.show(
        {"group_id": group, "account_id": account, "removed": True},
        lambda _: click.echo(f"follower {account} removed from {group}"),
    )


@followers.command("lock")
@click.argument("group")
@click.argument("account")
@click.option("--reason", required=True)
@pass_ctx
def followers_lock(c: Ctx, group: str, account: str, reason: str) -> None:
    _show_follower(
        c, c.api.request("POST", path("groups", group, "followers", account, "lock"), {"reason": reason})
    )


@followers.command("unlock")
@click.argument("group")
@click.argument("account")
@pass_ctx
def followers_unlock(c: Ctx, group: str, account: str) -> None:
    _show_follower(c, c.api.request("POST", path("groups", group, "followers", account, "unlock")))


@followers.command("reset")
@click.argument("group")
@click.argument("account")
@click.option("--starting-balance", type=float, default=None)
@pass_ctx
def followers_reset(c: Ctx, group: str, account: str, starting_balance: float | None) -> None:
    """Starts a new risk session now (P&L and trades 0, a risk lock lifted)."""
    body = None if starting_balance is None else {"starting_balance": starting_balance}
    route = path("groups", group, "followers", account, "risk", "reset")
    _show_follower(c, _v2(c, "POST", route, body, "risk reset"))


def _v2(c: Ctx, method: str, route: str, body: Any, what: str) -> Any:
    """A v2 route that a stack may not have yet: its absence is one clear line."""
    try:
        return c.api.request(method, route, body)
    except ApiError as error:
        if error.route_missing:
            raise ApiError(
                404,
                "not_available",
                f"this stack has no {what} route yet ({method} {route})",
                route_missing=True,
            ) from None
        raise


# -- credentials -----------------------------------------------------------------------------------
@cli.group()
def credentials() -> None:
    """Broker credentials of an account (secrets from a prompt or stdin, never from the command line)."""


@credentials.command("set")
@click.argument("account")
@click.option("--broker", required=True, type=click.Choice(sorted(SECRET_FIELDS)))
@click.option("--broker-account", required=True, help="The broker's own account name or id.")
@click.option("--username", required=True)
@click.option(
    "--field",
    "fields",
    multiple=True,
    metavar="NAME=VALUE",
    help="Other non-secret fields (api_url, rtc_url, environment, app_id, cid, ...).",
)
@pass_ctx
def credentials_set(
    c: Ctx, account: str, broker: str, broker_account: str, username: str, fields: tuple[str, ...]
) -> None:
    """Secrets: prompted for (hidden), or a JSON object on stdin ({"password": ..., "sec": ...})."""
    extra = _fields(fields, as_json=False)
    if ALL_SECRETS & set(extra):
        raise click.UsageError(
            f"{', '.join(sorted(ALL_SECRETS & set(extra)))}: secrets are never taken "
            "from the command line; they are prompted for or read from stdin"
        )
    body = {
        "broker": broker,
        "username": username,
        "broker_account": broker_account,
        **extra,
        **_read_secrets(SECRET_FIELDS[broker]),
    }
    info = c.api.request("PUT", path("accounts", account, "credentials"), body)
    c.show(info, _credentials_table)


def _read_secrets(names: tuple[str, ...]) -> dict[str, str]:
    if sys.stdin.isatty():
        return {name: click.prompt(name, hide_input=True) for name in names}
    text = sys.stdin.read().strip()
    try:
        given = json.loads(text)
    except ValueError:
        given = {names[0]: text} if len(names) == 1 and text else None
    if not isinstance(given, dict) or set(given) != set(names):
        raise click.UsageError(f"stdin must hold a JSON object with exactly {', '.join(names)}")
    return {k: str(v) for k, v in given.items()}


def _credentials_table(info: dict[str, Any]) -> None:
    output.table(
        None,
        ("account", "broker", "broker_account", "api_url", "stored_at"),
        [[info.get(k) for k in ("account_id", "broker", "broker_account", "api_url", "stored_at")]],
    )


@credentials.command("show")
@click.argument("account")
@pass_ctx
def credentials_show(c: Ctx, account: str) -> None:
    c.show(c.api.get(path("accounts", account, "credentials")), _credentials_table)


@credentials.command("delete")
@click.argument("account")
@pass_ctx
def credentials_delete(c: Ctx, account: str) -> None:
    c.api.request("DELETE", path("accounts", account, "credentials"))
    c.show(
        {"account_id": account, "deleted": True}, lambda _: click.echo(f"credentials of {account} deleted")
    )


# -- preview / events ------------------------------------------------------------------------------
@cli.command()
@click.argument("group")
@click.option("--buy", nargs=2, type=(int, str), default=None, metavar="QTY SYMBOL")
@click.option("--sell", nargs=2, type=(int, str), default=None, metavar="QTY SYMBOL")
@click.option("--order-type", type=click.Choice(["market", "limit", "stop", "stop_limit"]), default="market")
@click.option("--limit-price", type=float, default=None)
@click.option("--stop-price", type=float, default=None)
@click.option("--price", type=float, default=None, help="Reference (leader fill) price.")
@pass_ctx
def preview(
    c: Ctx,
    group: str,
    buy: tuple[int, str] | None,
    sell: tuple[int, str] | None,
    order_type: str,
    limit_price: float | None,
    stop_price: float | None,
    price: float | None,
) -> None:
    """What every follower would do with this leader order now (nothing is sent or recorded)."""
    if (buy is None) == (sell is None):
        raise click.UsageError("give exactly one of --buy QTY SYMBOL or --sell QTY SYMBOL")
    side, (qty, symbol) = ("buy", buy) if buy is not None else ("sell", sell)  # type: ignore[misc]
    event = {
        "type": "order.placed",
        "order_id": "cli-preview",
        "symbol": symbol,
        "side": side,
        "qty": qty,
        "order_type": order_type,
        "limit_price": limit_price,
        "stop_price": stop_price,
        "price": price,
    }
    body = _v2(c, "POST", path("groups", group, "preview"), event, "preview")
    c.show(
        body,
        lambda b: output.table(
            None,
            ("account", "status", "action", "symbol", "side", "qty", "reason"),
            [
                [p.get(k) for k in ("account_id", "status", "action", "symbol", "side", "qty", "reason")]
                for p in b.get("copies") or []
            ],
        ),
    )


@cli.command()
@click.argument("group")
@click.argument("event_id", required=False)
@click.option("--limit", type=click.IntRange(1, 100), default=20, show_default=True)
@pass_ctx
def events(c: Ctx, group: str, event_id: str | None, limit: int) -> None:
    """The group's latest events and their copies, or one event's copies."""
    if event_id is not None:
        body = c.api.get(path("groups", group, "events", event_id))
        c.show(
            body,
            lambda e: output.table(
                f"{e['event_id']} {e['type']} received {e['received_at']}",
                output.COPY_COLUMNS,
                output.copy_rows(e),
            ),
        )
        return
    body = c.api.get(path("groups", group, "events"), {"limit": limit})
    c.show(
        body,
        lambda b: output.table(
            None,
            ("event_id", "type", "received_at", "copies"),
            [
                [
                    e["event_id"],
                    e["type"],
                    e["received_at"],
                    " ".join(f"{cp['account_id']}:{cp['status']}" for cp in e.get("copies") or []),
                ]
                for e in b["events"]
            ],
        ),
    )


# -- entry point -----------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    """Runs the CLI; every failure is one line on stderr and an exit code (never a traceback)."""
    try:
        cli.main(args=argv, prog_name="tradecopier", standalone_mode=False)
    except click.exceptions.Abort:
        return _fail("aborted", INTERRUPTED)
    except click.ClickException as error:
        return _fail(
            error.format_message(), USAGE if isinstance(error, click.UsageError) else error.exit_code
        )
    except ApiError as error:
        return _fail(str(error), NOT_FOUND if error.status == 404 else API_REFUSED)
    except (Unreachable, target.TargetError) as error:
        return _fail(str(error), TARGET)
    except KeyboardInterrupt:
        return INTERRUPTED
    except BrokenPipeError:
        return OK
    return OK


def _fail(line: str, code: int) -> int:
    click.echo(f"tradecopier: {line}", err=True)
    return code

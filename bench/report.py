"""Goals, the markdown table (``results.md``) and the latency plot (``latency.png``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

# Issue 19's goals, in its table's order: (name, text, limit, unit). Every row is in results.md,
# "–" where this run did not produce the figure.
GOALS: tuple[tuple[str, str, float, str], ...] = (
    (
        "sequential_calls",
        "sequential AWS calls on the critical path: leader POST → broker call (warm)",
        3,
        "",
    ),
    ("writes_after_broker", "DynamoDB writes per copy after the broker call", 1, ""),
    ("wru_n10", "copier WRU per copy at 10 followers", 2, "WRU"),
    ("wru_n50", "copier WRU per copy at 50 followers", 2, "WRU"),
    ("executor_cpu", "executor own CPU per copy (median)", 2.5, "ms"),
    ("ingest_cpu", "ingest own CPU per event (median)", 2.5, "ms"),
    ("import_ingest", "import time ingest vs baseline", 1.6, "×"),
    ("import_executor", "import time executor vs baseline", 1.6, "×"),
    ("stack_cpu", "local stack CPU per copy (10 followers)", 15, "ms"),
    ("e2e_n1", "e2e p50 / floor p50 at 1 follower", 3, "×"),
    ("e2e_n10", "e2e p50 / floor p50 at 10 followers", 3, "×"),
    ("cost", "USD per million leader trades, 10 followers", 25, "USD"),
    ("monthly", "monthly bill of the typical trader, list prices (bench/monthly.py)", 10, "USD"),
)


# Where a hot handler's import time goes (``bench.imports.profile``), the packages the report names.
IMPORT_PACKAGES = (
    *("botocore", "boto3", "s3transfer", "urllib3", "aws_lambda_powertools", "aws_xray_sdk"),
    *("pydantic", "pydantic_core", "tradecopier", "asyncio"),
)


def _dig(results: dict[str, Any], *path: str) -> Any:
    value: Any = results
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    return value


def _ratio(results: dict[str, Any], name: str) -> float | None:
    imports = results.get("import_ms", {})
    return imports[name] / imports["baseline"] if name in imports and imports.get("baseline") else None


def measured_figures(results: dict[str, Any]) -> dict[str, float | None]:
    """Each goal's figure from what the bench wrote (``None``: not measured in this run)."""
    return {
        "sequential_calls": _dig(results, "critical_path", "sequential_calls"),
        "writes_after_broker": _dig(results, "critical_path", "copier_writes_after_broker_per_copy"),
        "wru_n10": results.get("dynamodb_wru_per_copy"),
        "wru_n50": _dig(results, "overhead_n50", "dynamodb_wru_per_copy", "copier"),
        "executor_cpu": results.get("executor_cpu_ms_per_copy"),
        "ingest_cpu": results.get("ingest_cpu_ms"),
        "import_ingest": _ratio(results, "ingest"),
        "import_executor": _ratio(results, "executor"),
        "stack_cpu": _dig(results, "e2e_detail", "n10", "stack_cpu_ms_per_copy"),
        "e2e_n1": _dig(results, "e2e_over_floor", "n1", "p50"),
        "e2e_n10": _dig(results, "e2e_over_floor", "n10", "p50"),
        "cost": results.get("usd_per_million_trades_n10"),
        "monthly": _dig(results, "monthly_bill", "total_usd"),
    }


def goals(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Issue 19's table: every goal, its figure from this run, the limit, whether it is met."""
    figures = measured_figures(results)
    out: list[dict[str, Any]] = []
    for name, text, limit, unit in GOALS:
        measured = figures[name]
        out.append(
            {
                "name": name,
                "goal": text,
                "measured": None if measured is None else round(float(measured), 2),
                "limit": limit,
                "unit": unit,
                "met": None if measured is None else float(measured) <= limit,
            }
        )
    return out


def _fmt(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:,.2f}" if abs(value) < 1000 else f"{value:,.0f}"
    return str(value)


def markdown(results: dict[str, Any]) -> str:
    lines = [
        "# Benchmark results",
        "",
        f"Run {results.get('generated_at', '')} on {results.get('machine', {}).get('cpus', '?')} CPU(s), "
        f"Python {results.get('machine', {}).get('python', '?')}, 1-minute load average "
        f"{results.get('machine', {}).get('loadavg_1m', {})}; took {results.get('duration_s', '?')} s "
        f"(`python -m bench {results.get('argv', '')}`). How each figure is measured: the README's "
        "*Benchmarks* section and the docstrings of `bench/*.py`.",
        "",
    ]
    for partial in results.get("partial_runs", []):
        lines += [
            f"Re-run since: {', '.join(partial['parts'])} at {partial['at']} "
            f"(`python -m bench --only {','.join(partial['parts'])}`, load {partial['loadavg_1m']}, "
            f"{partial['duration_s']} s); those figures are from that run, the others from the run above.",
            "",
        ]
    e2e, floor, ratio = (
        results.get("e2e_ms", {}),
        results.get("floor_ms", {}),
        results.get("e2e_over_floor", {}),
    )
    if e2e:
        detail = results.get("e2e_detail", {})
        lines += [
            "## Latency: leader event POST → every follower's copy placed (local stack)",
            "",
            "| followers | events | e2e p50 | e2e p95 | e2e p99 | floor p50 | floor p95 | floor p99 "
            "| e2e/floor p50 | e2e/floor p99 | stack CPU per copy |",
            "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for key in e2e:
            e, f, r = e2e[key], floor.get(key, {}), ratio.get(key, {})
            lines.append(
                f"| {key[1:]} | {detail.get(key, {}).get('events', '')} "
                f"| {_fmt(e['p50'])} | {_fmt(e['p95'])} | {_fmt(e['p99'])} "
                f"| {_fmt(f.get('p50'))} | {_fmt(f.get('p95'))} | {_fmt(f.get('p99'))} "
                f"| {_fmt(r.get('p50'))} | {_fmt(r.get('p99'))} "
                f"| {_fmt(detail.get(key, {}).get('stack_cpu_ms_per_copy'))} |"
            )
        lines += [
            "",
            "Milliseconds. Floor: bare SNS FIFO publish → every subscribed SQS FIFO queue's poller has "
            "received it, same emulator, no handlers. Stack CPU per copy: CPU time of every process of the "
            "local stack (Lambda workers, DynamoDB Local, moto, pollers) per copied order during the run.",
            "",
        ]
    lines += _per_broker_lines(results)
    lines += ["## Own overhead, cold start, cost", "", "| figure | value |", "|---|---:|"]
    rows: list[tuple[str, Any]] = [
        ("ingest own CPU per accepted event (ms, median)", results.get("ingest_cpu_ms")),
        ("executor own CPU per copied order (ms, median)", results.get("executor_cpu_ms_per_copy")),
        (
            "… of which botocore client side (ms)",
            results.get("overhead_detail", {})
            .get("executor_per_copy", {})
            .get("botocore_client_cpu_ms_median"),
        ),
        ("copier DynamoDB writes per copied order", results.get("dynamodb_writes_per_copy")),
        ("copier DynamoDB WRU per copied order", results.get("dynamodb_wru_per_copy")),
        (
            "paper broker DynamoDB writes per copied order (broker's cost)",
            results.get("paper_broker_dynamodb_writes_per_copy"),
        ),
    ]
    path = results.get("critical_path", {})
    rows += [
        ("sequential AWS calls: ingest, up to its publish (warm)", path.get("ingest_calls_to_publish")),
        ("sequential AWS calls: executor, before the broker call", path.get("executor_calls_before_broker")),
    ]
    rows += [
        (f"MemorySize {mb} MB: executor billed ms / GB-s USD per million trades", _pair(option))
        for mb, option in results.get("memory_options_n10", {}).items()
    ]
    rows += [
        (f"AWS calls per accepted event: {k}", v) for k, v in results.get("aws_calls_per_event", {}).items()
    ]
    rows += [
        (f"AWS calls per copied order: {k}", v) for k, v in results.get("aws_calls_per_copy", {}).items()
    ]
    rows += [(f"import {k} (ms, median)", v) for k, v in results.get("import_ms", {}).items()]
    rows += [(f"import {k} with tracing on (ms)", v) for k, v in results.get("import_ms_traced", {}).items()]
    rows += _import_rows(results)
    rows += [
        (
            "first copy after idle: fresh executor worker, start → copy done (ms, median)",
            results.get("first_copy_after_idle_ms"),
        ),
        ("… of which interpreter start + import executor_handler (ms)", results.get("first_copy_import_ms")),
        ("… of which the first invocation, cold clients (ms)", results.get("first_copy_handler_ms")),
    ]
    wide = results.get("overhead_n50", {})
    rows += [
        ("at 50 followers: ingest own CPU per event (ms)", wide.get("ingest_cpu_ms")),
        ("at 50 followers: executor own CPU per copy (ms)", wide.get("executor_cpu_ms_per_copy")),
        ("at 50 followers: copier WRU per copied order", wide.get("dynamodb_wru_per_copy", {}).get("copier")),
        ("at 50 followers: event item (bytes)", wide.get("event_item_bytes")),
    ]
    for label, name in (("no_rules", "no risk rules"), ("every_rule", "every risk rule on")):
        risk = results.get("risk_overhead", {}).get(label, {})
        rows += [
            (f"{name}: executor own CPU per copy (ms, median)", risk.get("executor_cpu_ms_per_copy")),
            (f"{name}: copier DynamoDB writes per copy", risk.get("dynamodb_writes_per_copy")),
            (f"{name}: copier DynamoDB WRU per copy", risk.get("dynamodb_wru_per_copy")),
        ]
        rows += [
            (f"{name}: AWS calls per copy: {k}", v) for k, v in risk.get("aws_calls_per_copy", {}).items()
        ]
    rows += [
        ("USD per million leader trades, 10 followers", results.get("usd_per_million_trades_n10")),
        ("… plus CloudWatch Logs ingestion", results.get("usd_per_million_trades_n10_with_logs")),
    ]
    rows += [(f"… {k}", v) for k, v in results.get("cost_breakdown_n10", {}).items()]
    rows += [("USD per million leader trades, 50 followers", results.get("usd_per_million_trades_n50"))]
    lines += [f"| {name} | {_fmt(value)} |" for name, value in rows if value is not None]
    lines += _monthly_lines(results.get("monthly_bill"))
    goal_rows = results.get("goals", [])
    if goal_rows:
        lines += [
            "",
            "## Goals (issue 19)",
            "",
            "| figure | measured | limit | met |",
            "|---|---:|---:|:---:|",
        ]
        for goal in goal_rows:
            met = "n/a" if goal["met"] is None else ("yes" if goal["met"] else "**no**")
            unit = f" {goal['unit']}" if goal["unit"] else ""
            measured = "–" if goal["measured"] is None else f"{_fmt(goal['measured'])}{unit}"
            lines.append(f"| {goal['goal']} | {measured} | ≤ {_fmt(goal['limit'])}{unit} | {met} |")
    errors = results.get("errors", {})
    if errors:
        lines += ["", "## Errors", ""] + [f"- {part}: {error}" for part, error in errors.items()]
    return "\n".join(lines) + "\n"


def _pair(option: dict[str, Any]) -> str:
    return f"{option['executor_billed_ms']} / {option['lambda_gb_s_usd_per_million_trades']:.2f}"


def _per_broker_lines(results: dict[str, Any]) -> list[str]:
    """The table "per broker": e2e on the local stack with the followers on each (fake) broker,
    next to the executor's own CPU per copy on it (part ``brokers``), one row per broker and size."""
    by_broker, executor = results.get("e2e_by_broker") or {}, results.get("brokers") or {}
    if not by_broker:
        return []
    lines = [
        "## Per broker: leader event POST → the follower's order accepted by its broker (local stack)",
        "",
        "| broker | followers | events | e2e p50 | e2e p99 | floor p50 | floor p99 | e2e/floor p50 "
        "| executor own CPU per copy p50 | copies placed |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for broker, rows in by_broker.items():
        cpu = (executor.get(broker) or {}).get("executor_own_cpu_ms_per_copy", {}).get("p50")
        for key, row in sorted(rows.items(), key=lambda item: int(item[0][1:])):
            e, f = row["e2e_ms"], row["floor_ms"]
            statuses = row.get("copy_statuses", {})
            lines.append(
                f"| {broker} | {key[1:]} | {row['events']} | {_fmt(e['p50'])} | {_fmt(e['p99'])} "
                f"| {_fmt(f['p50'])} | {_fmt(f['p99'])} | {_fmt(row['e2e_over_floor'].get('p50'))} "
                f"| {_fmt(cpu)} | {statuses.get('placed', 0)}/{sum(statuses.values())} |"
            )
    lines += [
        "",
        "Milliseconds. Same stack, same run as the latency table; ProjectX and Tradovate are the repo's "
        "fakes (devstack/brokers), each in a process of its own on this machine: no network latency, "
        "no broker-side queueing — a floor of what a real broker adds, not a forecast. Executor own CPU: "
        "the part *brokers* (in-process overhead run; the adapter's HTTP client and JSON included).",
        "",
    ]
    return lines


def _import_rows(results: dict[str, Any]) -> list[tuple[str, Any]]:
    """Each hot handler's import over the baseline's, and where its time goes (self time per package)."""
    imports, profile_ms = results.get("import_ms", {}), results.get("import_profile_ms", {})
    rows: list[tuple[str, Any]] = [
        (f"import {k} / baseline", imports[k] / imports["baseline"])
        for k in ("ingest", "executor", "admin")
        if k in imports and imports.get("baseline")
    ]
    rows += [
        (f"import {name}: self time in {package} (ms, one -X importtime run)", ms)
        for name in ("ingest", "executor", "baseline")
        for package, ms in profile_ms.get(name, {}).items()
        if package in IMPORT_PACKAGES
    ]
    return rows


def _monthly_lines(bill: dict[str, Any] | None) -> list[str]:
    if not bill:
        return []
    p = bill["profile"]
    lines = [
        "",
        "## Monthly bill, typical trader (`bench/monthly.py`)",
        "",
        f"{p['leaders']} leader, {p['followers']} followers, {p['trades_per_day']} leader trades a day × "
        f"{p['trading_days']} trading days = {p['trades_per_month']:,} trades; listener: {p['listener']} "
        f"({p['listener_vcpu']} vCPU / {p['listener_gb']} GB arm64, "
        f"public IPv4: {p['listener_public_ipv4']}, {p.get('listener_hours', 730)} h a month: "
        f"ListenerSchedule=trading-week); "
        f"scheduler {p['scheduler_runs_per_month']:,} runs. Prices written {bill['prices_as_published_on']} "
        f"(bench/prices.json, with sources); per-trade figures measured at "
        f"{bill['per_trade_measured_at_followers']} followers, priced at {p['followers']}.",
        "",
        "| line item | quantity | unit | USD / month |",
        "|---|---:|---|---:|",
    ]
    lines += [
        f"| {line['item']} | {_fmt(float(line['quantity']))} | {line['unit']} | {line['usd']:.4f} |"
        for line in bill["lines"]
    ]
    totals = [
        ("**total, list prices**", f"**{bill['total_usd']:.2f}**"),
        ("total after the always-free tiers (fixed lines only)", f"{bill['total_after_free_tier_usd']:.2f}"),
        ("total without the listener on AWS (home mode)", f"{bill['total_without_listener_usd']:.2f}"),
        ("… and after the always-free tiers", f"{bill['total_without_listener_after_free_tier_usd']:.2f}"),
    ]
    totals += [
        (
            f"variant {name}: list / after the always-free tiers",
            f"{v['total_usd']:.2f} / {v['total_after_free_tier_usd']:.2f}",
        )
        for name, v in bill.get("variants", {}).items()
    ]
    lines += [f"| {name} | | | {usd} |" for name, usd in totals]
    lines += ["", f"Largest lines: {', '.join(bill['largest'])}."]
    return lines


def plot(results: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    e2e, floor = results.get("e2e_ms", {}), results.get("floor_ms", {})
    keys = sorted(e2e, key=lambda k: int(k[1:]))
    xs = [int(k[1:]) for k in keys]
    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=110)
    styles = {"p50": "-", "p95": "--", "p99": ":"}
    for q, style in styles.items():
        ax.plot(xs, [e2e[k][q] for k in keys], style, marker="o", color="tab:red", label=f"end to end {q}")
        if all(k in floor for k in keys):
            ax.plot(xs, [floor[k][q] for k in keys], style, marker="s", color="tab:blue", label=f"floor {q}")
    ax.set_xlabel("followers")
    ax.set_ylabel("latency (ms)")
    ax.set_xticks(xs)
    ax.set_ylim(bottom=0)
    ax.set_title(
        "Leader event → every follower's copy placed (local stack)\nfloor: bare SNS FIFO → SQS FIFO pollers"
    )
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8, ncol=2)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)

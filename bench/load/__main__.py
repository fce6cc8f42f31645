"""The seed's load mix against the platform, then an audit of what it holds.

    python -m bench.load [--scale 0.3] [--duration 60s] [--target embedded|split|url --url URL]

Starts the target (`commerce dev`, or `commerce dev --split` on the real servers; `url`: nothing), seeds a
catalog through the gateway as its admin (plenty of stock, plus a scarce product that runs out), registers
the seed's pool of 26 customers, runs the four Locust users of `bench/load/locustfile.py` headless for the
duration at `scale` x the seed's 160 users, evaluates the seed's thresholds (HTTP errors < 2 %, p95 <
1500 ms overall and per scenario, checks > 98 %), audits orders, stock, ledger and events
(`bench/load/audit.py`), prints a report and writes it as JSON into `.commerce/load/`. Exits 1 if a
threshold fails or the audit is not clean.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from bench.load.audit import audit, stock_of
from bench.load.mix import SEED_USERS, users_of
from bench.load.target import Target, started

LOCUSTFILE = Path(__file__).with_name("locustfile.py")
THRESHOLDS = {"http_errors_pct_below": 2.0, "p95_ms_below": 1500.0, "checks_pct_above": 98.0}
PLENTY, SCARCE = 100_000, 3
WORDS = ("Computer", "Shirt", "Monitor", "Keyboard")
POOL = 26  # the seed's testuser{i}@loadtest.com, A to Z
OUT = Path(".commerce/load")


def seconds(text: str) -> float:
    """`90`, `90s`, `2m` -> seconds."""
    units = {"s": 1, "m": 60, "h": 3600}
    return float(text[:-1]) * units[text[-1]] if text[-1] in units else float(text)


def percentile(values: list[float], share: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


async def prepare(target: Target, work: Path, products: int) -> tuple[dict[str, str], dict[str, int]]:
    """Catalog and customers through the gateway; the admin's headers and the stock before the load."""
    async with httpx.AsyncClient(base_url=target.gateway, timeout=60) as http:
        login = await http.post("/auth/login", json={"email": target.admin[0], "password": target.admin[1]})
        login.raise_for_status()
        admin = {"Authorization": f"Bearer {login.json()['token']}"}
        run = uuid.uuid4().hex[:8]
        gate = asyncio.Semaphore(4)

        async def product(n: int) -> None:
            scarce = n == 0
            body = {
                "sku": f"LOAD-{run}-{n}",
                "name": {"en": f"{'Scarce ' if scarce else ''}{WORDS[n % len(WORDS)]} {n}"},
                "variants": [
                    {"attributes": {"Size": size}, "price": f"{10 + n}.00", "initialStockQuantity": stock}
                    for size, stock in ([("M", SCARCE)] if scarce else [("M", PLENTY), ("L", PLENTY)])
                ],
            }
            async with gate:
                (await http.post("/products", json=body, headers=admin)).raise_for_status()

        async def customer(n: int) -> dict[str, str]:
            account = {"email": f"testuser{n}-{run}@loadtest.com", "password": "password"}
            async with gate:
                answer = await http.post(
                    "/auth/register", json={**account, "name": f"Test User {chr(65 + n)}"}
                )
            answer.raise_for_status()
            return account

        await asyncio.gather(*(product(n) for n in range(products)))
        accounts = await asyncio.gather(*(customer(n) for n in range(POOL)))
        (work / "accounts.json").write_text(json.dumps(accounts))
        listing = await http.get("/products", params={"page": 1, "limit": 50}, headers=admin)
        listing.raise_for_status()
        return admin, stock_of(listing.json())


class LoadSampler:
    """The machine's load average each few seconds while the load runs (other jobs share the machine)."""

    def __init__(self) -> None:
        self.samples: list[float] = []

    async def run(self) -> None:
        while True:
            self.samples.append(os.getloadavg()[0])
            await asyncio.sleep(5)


async def locust(target: Target, work: Path, scale: float, duration: float) -> dict[str, Any]:
    users = sum(users_of(s, scale) for s in SEED_USERS)
    ramp = max(1.0, users / 10)  # every user within about 10 s
    out = work / "locust.json"
    command = [
        sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless", "--host", target.gateway,
        "-u", str(users), "-r", f"{ramp:g}", "-t", f"{int(duration)}s", "--stop-timeout", "10",
        "--csv", str(work / "locust"), "--only-summary", "--loglevel", "WARNING",
    ]  # fmt: skip
    env = {
        **os.environ,
        "LOAD_SCALE": str(scale),
        "LOAD_ACCOUNTS": str(work / "accounts.json"),
        "LOAD_OUT": str(out),
    }
    with (work / "locust.log").open("wb") as log:
        process = await asyncio.create_subprocess_exec(
            *command, env=env, stdout=log, stderr=subprocess.STDOUT
        )
        await asyncio.wait_for(process.wait(), duration + 120)
    if not out.exists():
        raise RuntimeError(f"locust wrote no figures: {(work / 'locust.log').read_text()[-3000:]}")
    figures: dict[str, Any] = json.loads(out.read_text())
    figures["users"] = {s: users_of(s, scale) for s in SEED_USERS}
    return figures


def evaluate(figures: dict[str, Any], duration: float) -> dict[str, Any]:
    """Per scenario and overall: requests, rps, p50/p95/p99, errors; the checks; each threshold's verdict."""
    by: dict[str, list[tuple[float, bool]]] = defaultdict(list)
    by_name: dict[str, list[tuple[float, bool]]] = defaultdict(list)
    for scenario, name, ms, failed in figures["requests"]:
        by[scenario].append((ms, failed))
        by_name[name].append((ms, failed))

    def summary(rows: list[tuple[float, bool]]) -> dict[str, float]:
        times = [ms for ms, _ in rows]
        return {
            "requests": len(rows),
            "rps": round(len(rows) / duration, 2),
            "p50_ms": round(percentile(times, 0.50), 1),
            "p95_ms": round(percentile(times, 0.95), 1),
            "p99_ms": round(percentile(times, 0.99), 1),
            "errors_pct": round(100 * sum(f for _, f in rows) / len(rows), 3) if rows else 0.0,
        }

    every = [row for rows in by.values() for row in rows]
    overall = summary(every)
    scenarios = {s: summary(rows) for s, rows in sorted(by.items())}
    checks = figures["checks"]
    passed, failed = sum(c[0] for c in checks.values()), sum(c[1] for c in checks.values())
    checks_pct = 100 * passed / (passed + failed) if passed + failed else 0.0
    verdicts = {
        "http_errors": overall["errors_pct"] < THRESHOLDS["http_errors_pct_below"],
        "p95": overall["p95_ms"] < THRESHOLDS["p95_ms_below"],
        **{f"p95 {s}": v["p95_ms"] < THRESHOLDS["p95_ms_below"] for s, v in scenarios.items()},
        "checks": checks_pct > THRESHOLDS["checks_pct_above"],
    }
    answers: dict[str, int] = defaultdict(int)
    for order in figures["orders"]:
        answers[str(order["answer"])] += 1
    return {
        "overall": overall,
        "scenarios": scenarios,
        "requests": {name: summary(rows) for name, rows in sorted(by_name.items())},
        "checks": {name: {"passes": c[0], "fails": c[1]} for name, c in sorted(checks.items())},
        "checks_pct": round(checks_pct, 3),
        "order_answers": dict(answers),
        "thresholds": THRESHOLDS,
        "verdicts": verdicts,
        "within_thresholds": all(verdicts.values()),
    }


def report(result: dict[str, Any]) -> str:
    load = result["load"]
    lines = [
        f"load: {result['target']} at scale {result['scale']} ({result['users_total']} users "
        f"{result['users']}), {result['duration_s']:g} s; load average {load['before']:.2f} before, "
        f"{load['mean']:.2f} mean, {load['max']:.2f} max during (the machine is shared)",
        f"{'scenario':<44}{'reqs':>7}{'rps':>8}{'p50':>8}{'p95':>8}{'p99':>8}{'err%':>8}",
    ]
    rows = {**result["requests"], "ALL": result["overall"]}
    for name, s in rows.items():
        lines.append(
            f"{name:<44}{s['requests']:>7}{s['rps']:>8.1f}{s['p50_ms']:>8.0f}{s['p95_ms']:>8.0f}"
            f"{s['p99_ms']:>8.0f}{s['errors_pct']:>8.2f}"
        )
    lines.append(f"checks {result['checks_pct']:.2f} %: " + ", ".join(
        f"{n} {c['passes']}/{c['passes'] + c['fails']}" for n, c in result["checks"].items()
    ))  # fmt: skip
    lines.append(f"orders answered {result['order_answers']}")
    verdicts = ", ".join(f"{n} {'ok' if ok else 'FAILED'}" for n, ok in result["verdicts"].items())
    lines.append(f"thresholds: {verdicts}")
    a = result["audit"]
    lines.append(
        f"audit {'clean' if a['clean'] else 'NOT CLEAN'}: {a['orders_audited']} orders {a['statuses']}, "
        f"{a['units_held']} units held over {a['variants']} variants, settled after {a['settled_after_s']} s"
        + ("" if a["events_read"] else " (events not read: no bus given)")
    )
    for name in ("missing", "stuck", "answer_disagrees", "oversold", "unbalanced", "movements",
                 "ledger_drift", "events_lost", "events_doubled", "orders_unnamed"):  # fmt: skip
        if a[name]["count"]:
            lines.append(f"  {name}: {a[name]['count']}, e.g. {a[name]['examples'][:3]}")
    lines.append(f"verdict: {'PASS' if result['passed'] else 'FAIL'}; figures in {result['json']}")
    return "\n".join(lines)


async def run(args: argparse.Namespace) -> dict[str, Any]:
    duration = seconds(args.duration)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out = Path(args.out) / f"{stamp}-{args.target}-{args.scale:g}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="commerce-load-") as scratch:
        work = Path(scratch)
        kept = False
        try:
            result = await measure(args, work, duration, stamp)
            kept = args.keep_logs
        except BaseException:
            kept = True  # a run that broke keeps its logs
            raise
        finally:
            for name in ("platform.log", "locust.log") if kept else ():
                if (work / name).exists():
                    (out.parent / f"{out.stem}.{name}").write_bytes((work / name).read_bytes())
                    print(f"log kept: {out.parent / f'{out.stem}.{name}'}", file=sys.stderr)
    result["passed"] = result["within_thresholds"] and result["audit"]["clean"]
    result["json"] = str(out)
    out.write_text(json.dumps(result, indent=2))
    print(report(result), flush=True)
    return result


async def measure(args: argparse.Namespace, work: Path, duration: float, stamp: str) -> dict[str, Any]:
    """Start, prepare, load, audit: the figures (without the verdict)."""
    phases: dict[str, float] = {}
    clock = time.monotonic()
    async with started(args.target, work, url=args.url) as target:
        phases["start_s"] = round(time.monotonic() - clock, 1)
        if args.bus:
            target.bus_url = args.bus
        clock = time.monotonic()
        admin, initial = await prepare(target, work, args.products)
        phases["prepare_s"] = round(time.monotonic() - clock, 1)
        sampler = LoadSampler()
        before = os.getloadavg()[0]
        sampling = asyncio.create_task(sampler.run())
        clock = time.monotonic()
        try:
            figures = await locust(target, work, args.scale, duration)
        finally:
            sampling.cancel()
        phases["load_s"] = round(time.monotonic() - clock, 1)
        clock = time.monotonic()
        async with httpx.AsyncClient(base_url=target.gateway, timeout=60) as http:
            audited = await audit(
                http,
                admin,
                answered=figures["orders"],
                initial=initial,
                own_platform=args.target != "url",
                bus_url=target.bus_url,
                settle_seconds=args.settle,
            )
        phases["audit_s"] = round(time.monotonic() - clock, 1)
    return {
        "target": args.target,
        "scale": args.scale,
        "users": figures["users"],
        "users_total": sum(figures["users"].values()),
        "duration_s": duration,
        "at": stamp,
        "phases": phases,
        "load": {
            "before": before,
            "mean": sum(sampler.samples) / len(sampler.samples) if sampler.samples else before,
            "max": max(sampler.samples, default=before),
            "cores": os.cpu_count(),
        },
        **evaluate(figures, duration),
        "audit": audited,
    }


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="share of the seed's 160 users (1.0)")
    parser.add_argument("--duration", default="60s", help="how long the load runs: 90, 90s, 2m (60s)")
    parser.add_argument("--target", choices=["embedded", "split", "url"], default="embedded")
    parser.add_argument("--url", help="the gateway of a platform already running (--target url)")
    parser.add_argument("--bus", help="its event bus URL, to audit the order events (--target url)")
    parser.add_argument("--products", type=int, default=40, help="products seeded, one of them scarce (40)")
    parser.add_argument("--settle", type=float, default=90.0, help="seconds the orders may take to settle")
    parser.add_argument("--out", default=str(OUT), help="where the JSON report goes (.commerce/load)")
    parser.add_argument(
        "--keep-logs", action="store_true", help="copy the platform's and Locust's logs there"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.target == "url" and not args.url:
        parser().error("--target url needs --url")
    result = asyncio.run(run(args))
    return 0 if result["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())

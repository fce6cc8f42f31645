"""`python -m tests.scenarios --url http://host:port`: the scenario set against a running gateway.

Prints each scenario's PASS or FAIL (and the events check's, SKIP when no bus URL is given); exits 1 if
any failed. Options also come from COMMERCE_SCENARIO_URL, COMMERCE_SCENARIO_ADMIN_EMAIL,
COMMERCE_SCENARIO_ADMIN_PASSWORD and COMMERCE_SCENARIO_BUS_URL.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys

from tests.scenarios.runner import DEFAULT_ADMIN_EMAIL, DEFAULT_ADMIN_PASSWORD, open_run, play_all, until_up
from tests.scenarios.scenarios import SCENARIOS
from tests.scenarios.shop import Admin


def parse(argv: list[str]) -> argparse.Namespace:
    env = os.environ.get
    parser = argparse.ArgumentParser(prog="python -m tests.scenarios", description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=env("COMMERCE_SCENARIO_URL"), help="the gateway's URL")
    parser.add_argument("--admin-email", default=env("COMMERCE_SCENARIO_ADMIN_EMAIL", DEFAULT_ADMIN_EMAIL))
    parser.add_argument(
        "--admin-password", default=env("COMMERCE_SCENARIO_ADMIN_PASSWORD", DEFAULT_ADMIN_PASSWORD)
    )
    parser.add_argument(
        "--bus-url",
        default=env("COMMERCE_SCENARIO_BUS_URL"),
        help="the platform's bus (kafka://host:9092, sqlite:///path): the events are checked there",
    )
    parser.add_argument(
        "--wait", type=float, default=0, metavar="SECONDS", help="wait this long for the gateway to be up"
    )
    parser.add_argument(
        "--only", action="append", choices=list(SCENARIOS), metavar="NAME", help="play only these scenarios"
    )
    parser.add_argument("--list", action="store_true", help="name the scenarios and stop")
    args = parser.parse_args(argv)
    if not args.url and not args.list:
        parser.error("--url (or COMMERCE_SCENARIO_URL) is required")
    return args


async def main(argv: list[str]) -> int:
    args = parse(argv)
    if args.list:
        print("\n".join(SCENARIOS))
        return 0
    gateway = args.url.rstrip("/")
    print(f"scenarios: gateway {gateway}, bus {args.bus_url or '(none)'}", flush=True)
    if args.wait:
        await until_up(gateway, args.wait)
    admin = Admin(args.admin_email, args.admin_password)
    async with open_run(gateway, admin, args.bus_url) as run:
        outcomes = await play_all(run, args.only or SCENARIOS, lambda o: print(o.line(), flush=True))
    counts = {verdict: sum(o.verdict == verdict for o in outcomes) for verdict in ("PASS", "FAIL", "SKIP")}
    print(f"scenarios: {counts['PASS']} passed, {counts['FAIL']} failed, {counts['SKIP']} skipped")
    return 1 if counts["FAIL"] else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1:])))

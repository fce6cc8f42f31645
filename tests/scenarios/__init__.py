"""One end-to-end scenario set, driven only through the gateway, played against three targets.

`scenarios.py` holds the scenarios (register, log in, build a catalog, search, fill a guest cart, log in
and merge, order from the cart, pay by card, see the order with product names, cancel another, nothing
wrong comes back), `events.py` the check that the bus holds every event they caused once, `runner.py` one
play of the set. The targets (`test_scenarios.py`, `COMMERCE_SCENARIO_TARGET`):

- `embedded`: the platform in this process on its embedded adapters (SQLite, the SQLite bus), as
  `commerce dev` runs it;
- `split`: every API and worker its own process (`commerce.split.split_platform`, `commerce serve` /
  `commerce worker`) on the run's PostgreSQL, Kafka, Redis and Elasticsearch (`deploy/local/infra env`);
- `url`: any running gateway (`COMMERCE_SCENARIO_URL`), also `python -m tests.scenarios --url URL`, which
  the Kind smoke test runs.
"""

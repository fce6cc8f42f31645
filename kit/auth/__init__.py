"""Who is calling, one room per concern; import from the room you use.

- `principal`: `Principal`, the verified caller every room hands around.
- `tokens`: access tokens verified locally against the auth service's published keys.
- `callers`: the FastAPI dependencies routes declare their callers with.
- `services`: service credentials, for calls to other services' internal routes.
- `secrets`: secrets given by configuration or generated once under `data_dir` outside production.
"""

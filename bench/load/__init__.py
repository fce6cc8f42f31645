"""The seed's load mix with an audit: `python -m bench.load` (see `__main__`)."""

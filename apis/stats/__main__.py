"""Run the statistics service alone: `python -m apis.stats` (or `commerce serve stats`)."""

from apis.stats.app import create_app
from kit.web import serve

if __name__ == "__main__":
    serve("stats", create_app)

"""Run the search service alone: `python -m apis.search` (or `commerce serve search`)."""

from apis.search.app import create_app
from kit.web import serve

if __name__ == "__main__":
    serve("search", create_app)

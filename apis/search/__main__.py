"""Run the search service alone: `python -m apis.search` (or `commerce serve search`)."""

from kit.cli import serve_service

if __name__ == "__main__":
    serve_service("search")

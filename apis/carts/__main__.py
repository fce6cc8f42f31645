"""Run the carts service alone: `python -m apis.carts` (or `commerce serve carts`)."""

from kit.cli import serve_service

if __name__ == "__main__":
    serve_service("carts")

"""Run the orders service alone: `python -m apis.orders` (or `commerce serve orders`)."""

from kit.cli import serve_service

if __name__ == "__main__":
    serve_service("orders")

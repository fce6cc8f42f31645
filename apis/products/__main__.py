"""Run the products service alone: `python -m apis.products` (or `commerce serve products`)."""

from kit.cli import serve_service

if __name__ == "__main__":
    serve_service("products")

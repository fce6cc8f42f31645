"""Run the products service alone: `python -m apis.products` (or `commerce serve products`)."""

from apis.products.app import create_app
from kit.web import serve

if __name__ == "__main__":
    serve("products", create_app)

"""Run the carts service alone: `python -m apis.carts` (or `commerce serve carts`)."""

from apis.carts.app import create_app
from kit.web import serve

if __name__ == "__main__":
    serve("carts", create_app)

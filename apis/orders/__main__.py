"""Run the orders service alone: `python -m apis.orders` (or `commerce serve orders`)."""

from apis.orders.app import create_app
from kit.web import serve

if __name__ == "__main__":
    serve("orders", create_app)

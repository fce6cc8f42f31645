"""Run the gateway alone: `python -m gateway` (or `commerce serve gateway`)."""

from gateway.app import create_app
from kit.web import serve

if __name__ == "__main__":
    serve("gateway", create_app)

"""Run the gateway alone: `python -m gateway` (or `commerce serve gateway`)."""

from kit.cli import serve_service

if __name__ == "__main__":
    serve_service("gateway")

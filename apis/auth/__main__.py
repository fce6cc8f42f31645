"""Run the auth service alone: `python -m apis.auth` (or `commerce serve auth`)."""

from kit.cli import serve_service

if __name__ == "__main__":
    serve_service("auth")

"""Run the auth service alone: `python -m apis.auth` (or `commerce serve auth`)."""

from apis.auth.app import create_app
from kit.web import serve

if __name__ == "__main__":
    serve("auth", create_app)

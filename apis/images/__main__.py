"""Run the images service alone: `python -m apis.images` (or `commerce serve images`)."""

from kit.cli import serve_service

if __name__ == "__main__":
    serve_service("images")

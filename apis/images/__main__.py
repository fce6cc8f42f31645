"""Run the images service alone: `python -m apis.images` (or `commerce serve images`)."""

from apis.images.app import create_app
from kit.web import serve

if __name__ == "__main__":
    serve("images", create_app)

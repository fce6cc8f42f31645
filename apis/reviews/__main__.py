"""Run the reviews service alone: `python -m apis.reviews` (or `commerce serve reviews`)."""

from apis.reviews.app import create_app
from kit.web import serve

if __name__ == "__main__":
    serve("reviews", create_app)

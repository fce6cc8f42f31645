"""Carts service: guest and user carts with expiry."""

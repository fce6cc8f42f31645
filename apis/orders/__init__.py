"""Orders service: orders and the order-placement saga."""

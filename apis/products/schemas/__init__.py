"""Payloads of the products API, one module per route group (`products` also holds the shared types)."""

"""Auth service: users, roles, permissions and tokens."""

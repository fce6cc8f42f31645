"""The auth service's writes, one module per area: `accounts` (registration, login, sessions, invitations
accepted, service credentials), `users` (administration), `roles` (roles and their permissions).
"""

"""The `commerce` command and the platform runner: the top layer, which may import every other package."""

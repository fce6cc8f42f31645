"""Search service: the product index, queries and facets."""

"""Products service: catalog, categories, variants and the stock ledger."""

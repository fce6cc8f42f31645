"""The products service's writes, one module per area: `catalog` (products), `attachments` (a product's
categories and images), `variants`, `categories`, `stock` (the ledger).
"""

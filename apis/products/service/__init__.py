"""The products service's writes, one module per area: `catalog` (products), `attachments` (a product's
categories and images), `images` (our images service's images: checked when attached, counted for its
deletions), `variants`, `categories`, `stock` (the ledger).
"""

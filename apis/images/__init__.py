"""Images service: upload, validation, resizing and serving."""

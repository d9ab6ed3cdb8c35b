"""Files: the content-addressed store, skops artifacts with their trusted types, and datasets."""

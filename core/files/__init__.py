"""Files: the content-addressed store, datasets, and model files (skops) checked before loading:
the archive, the schema, the denylist, the trusted types, tree structure, and the limited child
process that loads and runs models."""

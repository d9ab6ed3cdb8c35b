"""The demo: deterministic generated data, models and accounts for trying Gatehouse."""

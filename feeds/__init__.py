"""Market data sources: each yields a time-ordered ``MarketData`` of per-venue book snapshots."""

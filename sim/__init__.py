"""The engine: wires a feed, venues, strategies and the fill ledger together."""

__version__ = "0.1.0"

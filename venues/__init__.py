"""Venues: SimPy processes that hold a displayed book and fill our child orders."""

"""Routing strategies: plugin classes that react to books and send child orders."""

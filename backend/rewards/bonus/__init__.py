"""Bonus events (SPEC 2.3): windows in which purchase points are multiplied."""

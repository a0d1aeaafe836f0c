"""Purchases reported by store systems: points earned, pending through the return window, refunds."""

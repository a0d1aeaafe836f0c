"""VIP tiers: reached by points earned in a rolling window, kept through a grace period."""

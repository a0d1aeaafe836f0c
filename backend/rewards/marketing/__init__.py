"""Staff use cases: audited point adjustments, saved segments and surprises (campaigns)."""

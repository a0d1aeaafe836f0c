"""Staff use cases: audited point adjustments (segments, surprises and stats come later)."""

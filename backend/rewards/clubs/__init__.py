"""Clubs: special-interest clubs bought for points or joined by invitation (SPEC 2.5)."""

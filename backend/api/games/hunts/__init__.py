"""Catch the mascot over GraphQL: start and finish a hunt, hunts left today, flagged hunts (staff)."""

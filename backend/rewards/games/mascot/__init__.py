"""Catch the mascot: hunt sessions, their rules, limits and awards (the rules of play are in `games.mascot`)."""

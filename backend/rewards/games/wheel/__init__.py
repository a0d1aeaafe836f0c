"""The wheel of points: configuration (staff), committed seeds, spins, awards and granted spins."""

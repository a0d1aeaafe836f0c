"""Games: the wheel of points, catch the mascot, the leaderboard and prize draws."""

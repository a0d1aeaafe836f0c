"""The leaderboard and prize draws API: types, queries and mutations."""

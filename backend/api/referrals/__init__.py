"""GraphQL API of referrals: `me.referrals` (the code, its share link and what came of it)."""

"""GraphQL API of bonus events: `createBonusEvent` (staff) and `bonusEvents` (active now, coming)."""

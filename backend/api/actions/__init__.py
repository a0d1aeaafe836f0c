"""GraphQL API of member-claimed actions (`claimAction`)."""

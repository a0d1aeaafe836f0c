"""StyleID over GraphQL: the option lists, the member's profile and its update."""

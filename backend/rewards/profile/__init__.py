"""StyleID: a member's style profile, the published option lists and the facts offers are matched on."""

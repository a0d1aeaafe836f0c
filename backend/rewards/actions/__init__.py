"""Actions that are not purchases (SPEC 2.3): their earning rules, caps, streaks and who may report them."""

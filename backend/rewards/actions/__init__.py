"""Actions that are not purchases, claimed by members (SPEC 2.3): product views for now."""

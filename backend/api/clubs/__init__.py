"""The clubs API: types, the `clubs` list, staff set-up and invitations, and `joinClub`."""

"""Referrals (SPEC 2.3): a friend enrols with a member's code; their first kept purchase rewards both."""

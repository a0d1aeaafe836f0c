"""Membership: enrolment (18+), profile, membership card and referral code."""

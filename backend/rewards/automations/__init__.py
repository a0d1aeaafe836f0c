"""Scheduled automations: birthday gifts, points-expiring warnings, tier nudges, club renewal
reminders, each at most once per member and occasion."""

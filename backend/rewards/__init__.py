"""The rewards domain: members, the points ledger, purchases and tiers, free of web and Firebase code."""

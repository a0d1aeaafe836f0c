"""Pure referral rules: who may be referred with a code, and whether a referral is rewarded.

- A friend is a new member: an enrolled user (or a new account with the e-mail of an existing
  member) is ALREADY_MEMBER; the code's owner, by account or e-mail, is SELF_REFERRAL; a second
  account of a friend already referred with the code (same e-mail) is REFERRAL_CODE_ALREADY_USED.
  An enrolled friend retrying `enroll` with the code they joined with gets their membership back.
- The referral qualifies on the friend's first purchase kept whole through its return window
  (its points released, nothing refunded); purchases too small to earn points do not count.
- At most `referral_yearly_limit` (20) rewarded referrals per referrer in 12 months: the 21st
  friend still joins, and the referral is closed LIMIT_REACHED with no bonus for either side
  (one rule for both, so a referrer cannot have friends rewarded past the limit for them).
- A refund of the qualifying purchase, in full or in part, reverses both bonuses (REVERSED).
- A referral whose referrer or friend is no longer active (suspended, erased) when it qualifies
  is CLOSED without a bonus.
"""

from __future__ import annotations

import enum

from backend.rewards.errors import DomainError


class ReferralStatus(enum.StrEnum):
    """What came of a referral."""

    JOINED = "joined"
    REWARDED = "rewarded"
    LIMIT_REACHED = "limit_reached"
    REVERSED = "reversed"
    CLOSED = "closed"  # the referrer or the friend was no longer active when it qualified


def refuse(code: str, message: str) -> DomainError:
    """A typed refusal of a referral code at enrolment."""
    return DomainError(code, message, field="referralCode")


SELF = ("SELF_REFERRAL", "You cannot use your own referral code.")
ALREADY_MEMBER = ("ALREADY_MEMBER", "Referral codes are for new members only.")
USED = ("REFERRAL_CODE_ALREADY_USED", "This referral code was already used for you.")


def same_email(first: str | None, second: str | None) -> bool:
    """Tell whether two e-mail addresses are the same person's (case-insensitively)."""
    return first is not None and second is not None and first.lower() == second.lower()


def reward_allowed(*, rewarded_this_year: int, limit: int) -> bool:
    """Tell whether a referrer may have one more referral rewarded."""
    return rewarded_this_year < limit

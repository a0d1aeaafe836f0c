"""Field permissions: members reach only their own data; roles guard staff and integration fields."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from strawberry.permission import BasePermission

from backend.api.context import Info
from backend.api.errors import PublicError
from backend.rewards.ports import AuthenticationError, Principal, Role

# How a field re-checks that the caller's token was not revoked: not at all, with Firebase every
# time (changes to balances), or with an answer for the same token at most REVOCATION_CHECK_SECONDS
# old (staff reads, so a burst of them does not ask Firebase each time).
Recheck = Literal["never", "fresh", "cached"]


class _RolePermission(BasePermission):
    """Allow the listed roles; anonymous callers get UNAUTHENTICATED, others FORBIDDEN."""

    roles: ClassVar[tuple[Role, ...]] = ()
    recheck: ClassVar[Recheck] = "never"

    def recheck_for(self, principal: Principal) -> Recheck:
        """How this caller's token is re-checked for revocation on this field."""
        return self.recheck

    async def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        """Check the caller's role, and for sensitive fields that the token is still valid."""
        principal = info.context.principal
        if principal is None:
            raise PublicError("UNAUTHENTICATED", "Sign in first.")
        if principal.role not in self.roles:
            raise PublicError("FORBIDDEN", f"The {principal.role} role may not use this field.")
        recheck = self.recheck_for(principal)
        if recheck != "never" and not info.context.active_checked:
            try:
                await info.context.services.verifier.ensure_active(
                    principal, info.context.token or "", allow_cached=recheck == "cached"
                )
            except AuthenticationError as error:
                raise PublicError(error.code, error.message) from None
            # A fresh answer covers the rest of the request; cached ones are cheap to ask again.
            info.context.active_checked = recheck == "fresh"
        return True


class IsMember(_RolePermission):
    """A signed-in member (staff and integrations cannot act as members)."""

    roles = (Role.MEMBER,)


class IsIntegration(_RolePermission):
    """A store or e-commerce system."""

    roles = (Role.INTEGRATION,)


class IsStaff(_RolePermission):
    """Marketing or admin staff, with a token that has not been revoked (asked afresh)."""

    roles = (Role.MARKETING, Role.ADMIN)
    recheck = "fresh"


class IsMemberReader(_RolePermission):
    """Staff who may look members up (marketing, admin, support); revocation re-checked, cached briefly."""

    roles = tuple(r for r in Role if r.reads_members)
    recheck = "cached"


class IsMemberOrStaff(_RolePermission):
    """Members (their own view of the catalogue) and marketing or admin staff (all of it)."""

    roles = (Role.MEMBER, Role.MARKETING, Role.ADMIN)


class IsSignedIn(_RolePermission):
    """Anyone with a valid token."""

    roles = tuple(Role)


class IsSignedInStaffRechecked(IsSignedIn):
    """Anyone with a valid token; staff reading member data get the cached revocation re-check."""

    def recheck_for(self, principal: Principal) -> Recheck:
        """Members read only their own data; staff who read others' are re-checked."""
        return "cached" if principal.role.reads_members else "never"


class RateLimit(BasePermission):
    """Count one call of the field against the caller's budget for `action` (`RATE_LIMIT_<ACTION>`).

    List it after the role permission, so refused callers spend nothing; over the budget the
    field fails with RATE_LIMITED and `retryAfter` (whole seconds) before its resolver runs.
    """

    action: ClassVar[str]

    async def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        """Spend one unit of the signed-in caller's budget, or refuse with the wait."""
        principal = info.context.principal
        assert principal is not None  # a role permission listed before this one let the caller in
        wait = await info.context.services.limiter.hit(self.action, principal.uid)
        if wait is not None:
            raise PublicError(
                "RATE_LIMITED", f"Too many requests; try again in {wait} s.", retryAfter=wait
            )
        return True


class EnrollRateLimit(RateLimit):
    """A member's enrolments (each answers whether a referral code exists)."""

    action = "enroll"


class StaffRateLimit(RateLimit):
    """One budget per staff user, spent by each staff field call."""

    action = "staff"


class IntegrationRateLimit(RateLimit):
    """One budget per integration, spent by each integration field call."""

    action = "integration"


class RedeemRateLimit(RateLimit):
    """A member's redemptions."""

    action = "redeem"


class ClaimActionRateLimit(RateLimit):
    """A member's claimed actions (product views and the like)."""

    action = "claim_action"


class RegisterDeviceRateLimit(RateLimit):
    """A member's device registrations and unregistrations."""

    action = "register_device"


class MascotHuntRateLimit(RateLimit):
    """A member's starts of catch the mascot (replays count too)."""

    action = "mascot_hunt"


class EnterDrawRateLimit(RateLimit):
    """A member's prize-draw entries."""

    action = "enter_draw"


class SpinWheelRateLimit(RateLimit):
    """A member's spins of the wheel of points."""

    action = "spin_wheel"


class SubscribeRateLimit(RateLimit):
    """A member's subscribe messages (each reads the membership once)."""

    action = "subscribe"

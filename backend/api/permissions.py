"""Field permissions: members reach only their own data; roles guard staff and integration fields."""

from __future__ import annotations

from typing import Any, ClassVar

from strawberry.permission import BasePermission

from backend.api.context import Info
from backend.api.errors import PublicError
from backend.rewards.ports import AuthenticationError, Role


class _RolePermission(BasePermission):
    """Allow the listed roles; anonymous callers get UNAUTHENTICATED, others FORBIDDEN."""

    roles: ClassVar[tuple[Role, ...]] = ()
    recheck_revocation: ClassVar[bool] = False

    async def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        """Check the caller's role, and for sensitive fields that the token is still valid."""
        principal = info.context.principal
        if principal is None:
            raise PublicError("UNAUTHENTICATED", "Sign in first.")
        if principal.role not in self.roles:
            raise PublicError("FORBIDDEN", f"The {principal.role} role may not use this field.")
        if self.recheck_revocation and not info.context.active_checked:
            try:
                await info.context.services.verifier.ensure_active(
                    principal, info.context.token or ""
                )
            except AuthenticationError as error:
                raise PublicError(error.code, error.message) from None
            info.context.active_checked = True
        return True


class IsMember(_RolePermission):
    """A signed-in member (staff and integrations cannot act as members)."""

    roles = (Role.MEMBER,)


class IsIntegration(_RolePermission):
    """A store or e-commerce system."""

    roles = (Role.INTEGRATION,)


class IsStaff(_RolePermission):
    """Marketing or admin staff, with a token that has not been revoked."""

    roles = (Role.MARKETING, Role.ADMIN)
    recheck_revocation = True


class IsSignedIn(_RolePermission):
    """Anyone with a valid token."""

    roles = tuple(Role)


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

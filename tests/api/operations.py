"""GraphQL operations the tests send, written as an app developer would."""

ENROLL = """
mutation Enroll($input: EnrollInput!) {
  enroll(input: $input) {
    member { id cardNumber referralCode displayName locale timeZone marketingConsent
             points { balance pending } tier { current { code } } }
    errors { code field message }
  }
}"""

ME = """
query Me {
  me {
    id cardNumber displayName
    points { balance pending expiringSoon { points firstDate windowDays } }
    tier { current { code name multiplier } next { code } qualifyingPoints pointsToNext retainedUntil nextTierBy }
    history(first: 10) { edges { cursor node { id kind points pendingPoints balanceAfter reason source sourceRef } }
                         pageInfo { hasNextPage endCursor } }
  }
}"""

RECORD = """
mutation Record($input: RecordPurchaseInput!) {
  recordPurchase(input: $input) {
    purchase { id orderId amount currency points memberReference refundedAmount reversedPoints }
    errors { code field message }
  }
}"""

REFUND = """
mutation Refund($input: RefundPurchaseInput!) {
  refundPurchase(input: $input) {
    purchase { orderId points refundedAmount reversedPoints }
    errors { code field message }
  }
}"""

ADJUST = """
mutation Adjust($input: AdjustPointsInput!) {
  adjustPoints(input: $input) {
    entry { id kind points reason source }
    member { points { balance } }
    errors { code field message }
  }
}"""

UPDATE_PROFILE = """
mutation Update($input: UpdateProfileInput!) {
  updateProfile(input: $input) {
    member { displayName locale timeZone marketingConsent }
    errors { code field message }
  }
}"""

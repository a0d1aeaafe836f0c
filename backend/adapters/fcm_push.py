"""Pushes through Firebase Cloud Messaging with firebase-admin's `messaging.send_each`.

`send_each` is synchronous (it posts each message to FCM's v1 `messages:send` from a thread of
its own), so a batch runs in a worker thread. firebase-admin's own HTTP retries are turned off:
they would hold the whole batch for seconds per 5xx, while the outbox retries each message
durably with backoff and jitter.
"""

from __future__ import annotations

import asyncio
import email.utils
import time
import uuid
import warnings
from typing import Any

import firebase_admin
from firebase_admin import credentials, exceptions, messaging
from google.auth.exceptions import DefaultCredentialsError
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from backend.rewards.notifications.rules import MAX_FCM_BATCH
from backend.rewards.ports import PushMessage, PushOutcome, PushResult
from backend.settings import ConfigError, Settings

HTTP_TIMEOUT_SECONDS = 30
# Errors worth another try later: quota (429), FCM overloaded or failing (5xx), the network.
TRANSIENT_CODES = frozenset(
    {
        exceptions.RESOURCE_EXHAUSTED,
        exceptions.UNAVAILABLE,
        exceptions.INTERNAL,
        exceptions.DEADLINE_EXCEEDED,
        exceptions.UNKNOWN,
    }
)
NO_RETRIES = Retry(
    total=0, status_forcelist=(), respect_retry_after_header=False, raise_on_status=False
)


class FcmPushSender:
    """Sends batches of up to 500 pushes with `messaging.send_each` of one firebase-admin app."""

    max_batch = MAX_FCM_BATCH

    def __init__(self, app: firebase_admin.App, *, endpoint: str | None = None) -> None:
        self._app = app
        service = messaging._get_messaging_service(app)
        if endpoint is not None:  # a test's fake FCM server
            service._fcm_url = endpoint
        adapter = HTTPAdapter(
            pool_connections=1, pool_maxsize=MAX_FCM_BATCH, max_retries=NO_RETRIES
        )
        service._client.session.mount(service._fcm_url, adapter)

    async def send(self, messages: list[PushMessage]) -> list[PushResult]:
        """Send one batch in a worker thread; a failure of the whole call is transient."""
        if not messages:
            return []
        batch = [_fcm_message(m) for m in messages]
        try:
            answer = await asyncio.to_thread(messaging.send_each, batch, app=self._app)
        except exceptions.FirebaseError as error:
            return [PushResult(PushOutcome.TRANSIENT, error=_describe(error))] * len(messages)
        return [result_of(response) for response in answer.responses]


def _fcm_message(message: PushMessage) -> messaging.Message:
    """The firebase-admin message: a visible notification plus data for the app."""
    # Apps register FCM registration tokens, which the v1 API's `token` field addresses;
    # firebase-admin 7.7 warns in favour of installation ids (`fid`), which apps do not send us.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return messaging.Message(
            token=message.token,
            notification=messaging.Notification(title=message.title, body=message.body),
            data=message.data,
        )


def result_of(response: messaging.SendResponse) -> PushResult:
    """Classify FCM's answer to one message."""
    if response.success:
        return PushResult(PushOutcome.SENT, message_id=response.message_id)
    error = response.exception
    detail = _describe(error)
    if isinstance(error, messaging.UnregisteredError | messaging.SenderIdMismatchError):
        return PushResult(PushOutcome.UNREGISTERED, error=detail)
    if isinstance(error, exceptions.InvalidArgumentError) and _token_refused(error):
        return PushResult(PushOutcome.UNREGISTERED, error=detail)
    if getattr(error, "code", None) in TRANSIENT_CODES:
        return PushResult(PushOutcome.TRANSIENT, error=detail, retry_after=_retry_after(error))
    return PushResult(PushOutcome.FAILED, error=detail)


def _describe(error: Any) -> str:
    """`CODE: message` of a firebase-admin error."""
    return f"{getattr(error, 'code', type(error).__name__)}: {error}"


def _token_refused(error: exceptions.FirebaseError) -> bool:
    """INVALID_ARGUMENT about the registration token itself (not about the message)."""
    if "registration token" in str(error).lower():
        return True
    try:
        details = error.http_response.json()["error"].get("details", [])
    except (AttributeError, ValueError, KeyError, TypeError):
        return False
    return any(
        violation.get("field") == "message.token"
        for detail in details
        for violation in detail.get("fieldViolations", [])
    )


def _retry_after(error: exceptions.FirebaseError) -> float | None:
    """The wait FCM asked for in `Retry-After` (seconds or an HTTP date), if any."""
    response = getattr(error, "http_response", None)
    value = response.headers.get("Retry-After") if response is not None else None
    if not value:
        return None
    if value.strip().isdigit():
        return float(value)
    try:
        return max(0.0, email.utils.parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


def fcm_sender_from_settings(settings: Settings) -> FcmPushSender:
    """FCM with the service's Firebase credentials (the key file, else Application Default);
    credentials that cannot work are a configuration error of one line."""
    try:
        credential = (
            credentials.Certificate(settings.firebase_credentials_file)
            if settings.firebase_credentials_file
            else credentials.ApplicationDefault()
        )
        app = firebase_admin.initialize_app(
            credential,
            options={
                "projectId": settings.firebase_project_id,
                "httpTimeout": HTTP_TIMEOUT_SECONDS,
            },
            name=f"rewards-push-{uuid.uuid4().hex}",
        )
        return FcmPushSender(app)
    except (OSError, ValueError, DefaultCredentialsError) as error:
        cause = str(error.__cause__ or error).splitlines()[0]
        problem = f"FIREBASE_CREDENTIALS_FILE: FCM pushes need credentials ({cause})"
        raise ConfigError([f"{problem}; or set PUSH_BACKEND=log"]) from None

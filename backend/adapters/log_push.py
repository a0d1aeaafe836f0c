"""The local push sender: one log line per message, every message "sent" (the inbox has the text)."""

from __future__ import annotations

import logging
import uuid

from backend.rewards.notifications.rules import MAX_FCM_BATCH
from backend.rewards.ports import PushMessage, PushOutcome, PushResult

log = logging.getLogger("rewards.push")


class LogPushSender:
    """Logs each push instead of sending it: the default without Firebase credentials."""

    max_batch = MAX_FCM_BATCH

    async def send(self, messages: list[PushMessage]) -> list[PushResult]:
        """Log the messages; answer a local message id for each."""
        results = []
        for message in messages:
            log.info(
                "push to …%s: %s — %s %s",
                message.token[-8:],
                message.title,
                message.body,
                message.data,
            )
            results.append(PushResult(PushOutcome.SENT, message_id=f"log/{uuid.uuid4().hex}"))
        return results

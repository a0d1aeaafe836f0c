"""The push sender: claims due outbox rows, sends them in batches, records what became of each.

Runs inside the server process (a lifespan task) or as `rewards push-worker`; any number of
senders may run at once on one database (see outbox.py for how claims stay disjoint).
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from backend.ids import global_id
from backend.rewards.notifications import outbox
from backend.rewards.notifications.outbox import Claimed, OutboxStatus, Settled
from backend.rewards.notifications.rules import MAX_FCM_BATCH, retry_delay
from backend.rewards.ports import PushMessage, PushOutcome, PushResult, PushSender
from backend.rewards.uow import UnitOfWorkFactory

log = logging.getLogger("rewards.push")


@dataclass(frozen=True)
class SenderConfig:
    """How a sender claims, retries and gives up."""

    batch_size: int = MAX_FCM_BATCH
    lease_seconds: float = 120.0
    max_attempts: int = 8
    retry_base_seconds: float = 5.0
    retry_max_seconds: float = 3600.0
    poll_seconds: float = 1.0


@dataclass
class SendReport:
    """What one round of sending did."""

    claimed: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0
    pruned: int = 0
    calls: int = 0
    errors: dict[str, int] = field(default_factory=dict)


class OutboxSender:
    """Sends the outbox through a PushSender (FCM or the log)."""

    def __init__(
        self,
        uows: UnitOfWorkFactory,
        push: PushSender,
        config: SenderConfig = SenderConfig(),
        rng: random.Random | None = None,
        reader: AsyncEngine | None = None,
    ) -> None:
        self.uows = uows
        self.push = push
        self.config = config
        self.rng = rng or random.Random()
        self.reader = reader  # given: an idle round is one read, not a write transaction

    async def send_due(self) -> SendReport:
        """One round: claim up to a batch of due pushes, send them, record the results."""
        report = SendReport()
        if self.reader is not None:
            async with self.reader.connect() as conn:
                if not await outbox.anything_due(conn, now=self.uows.clock.now()):
                    return report
        async with self.uows() as uow:
            lease = timedelta(seconds=self.config.lease_seconds)
            claim, claimed = await outbox.claim(
                uow.session, now=uow.now, lease=lease, limit=self.config.batch_size
            )
            await uow.commit()
        report.claimed = len(claimed)
        size = min(self.push.max_batch, MAX_FCM_BATCH)
        for start in range(0, len(claimed), size):
            chunk = claimed[start : start + size]
            results = await self._send(chunk)
            report.calls += 1
            await self._record(claim, chunk, results, report)
        return report

    async def _send(self, chunk: Sequence[Claimed]) -> list[PushResult]:
        """Send one batch; an unexpected failure of the whole call is retried like a 503."""
        try:
            return await self.push.send([_message(c) for c in chunk])
        except Exception as error:
            log.exception("push batch failed; its messages will be retried")
            return [PushResult(PushOutcome.TRANSIENT, error=repr(error))] * len(chunk)

    async def _record(
        self,
        claim: str,
        chunk: Sequence[Claimed],
        results: Sequence[PushResult],
        report: SendReport,
    ) -> None:
        """Settle one sent batch and prune the devices FCM gave up on, in one transaction."""
        async with self.uows() as uow:
            settled, pruned = [], []
            for item, result in zip(chunk, results, strict=True):
                settled.append(self._settled(item, result, uow.now, report))
                if result.outcome is PushOutcome.UNREGISTERED:
                    pruned.append((item.device_id, item.token))
            await outbox.settle(uow.session, claim, settled, now=uow.now)
            await outbox.prune_devices(uow.session, pruned)
            await uow.commit()
        report.pruned += len(set(pruned))

    def _settled(
        self, item: Claimed, result: PushResult, now: datetime, report: SendReport
    ) -> Settled:
        """What to record for one message."""
        if result.outcome is PushOutcome.SENT:
            report.sent += 1
            return Settled(item.id, OutboxStatus.SENT, message_id=result.message_id)
        error = f"{result.outcome.value}: {result.error or 'no detail'}"
        report.errors[result.outcome.value] = report.errors.get(result.outcome.value, 0) + 1
        attempt = item.attempts + 1
        if result.outcome is PushOutcome.TRANSIENT and attempt < self.config.max_attempts:
            report.retried += 1
            wait = retry_delay(
                attempt,
                base=self.config.retry_base_seconds,
                cap=self.config.retry_max_seconds,
                jitter=self.rng.random(),
                retry_after=result.retry_after,
            )
            return Settled(
                item.id, OutboxStatus.PENDING, not_before=now + timedelta(seconds=wait), error=error
            )
        report.failed += 1
        if result.outcome is PushOutcome.TRANSIENT:
            error = f"gave up after {attempt} attempts; last {error}"
        return Settled(item.id, OutboxStatus.FAILED, error=error)

    async def run_forever(self) -> None:
        """Send whatever is due, again and again; a full batch goes on at once, else wait a poll."""
        while True:
            try:
                report = await self.send_due()
                if report.claimed:
                    log.info("push round: %s", report)
            except Exception:
                log.exception("push round failed; will retry")
                report = SendReport()
            if report.claimed < self.config.batch_size:
                await asyncio.sleep(self.config.poll_seconds)


def _message(item: Claimed) -> PushMessage:
    """The push of one claimed row; the app dedupes on `notificationId` (the API's global id)."""
    return PushMessage(
        token=item.token,
        title=item.title,
        body=item.body,
        data={
            "notificationId": global_id("Notification", item.notification_id),
            "kind": item.kind,
            "deepLink": item.deep_link,
        },
    )

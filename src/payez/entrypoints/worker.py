"""The worker: listeners, the inbox processor, the outbox, email and webhook senders and the
timers, as threads.

Every loop is safe to run in several processes at once and to kill at any instant: the state
that matters is in the database, and each step is one transaction or an idempotent call.

Stopping: every loop and every wait honours one stop event (set by :meth:`Worker.request_stop`),
so the threads end within moments, between two steps. :meth:`Worker.shutdown` waits for them a
bounded time; a thread still blocked after that (a slow network call) is a daemon thread and is
abandoned with the process, which the loops are built to survive.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from functools import partial

from payez.adapters.db import cursors
from payez.ports.network import NetworkError, Post, SocialNetwork
from payez.service.adopt_account import sweep_handed_over_accounts
from payez.service.context import ServiceContext
from payez.service.expire_payments import (
    expire_confirmations,
    refund_expired_claims,
    send_claim_reminders,
)
from payez.service.fund_from_card import fund_waiting_posts
from payez.service.process_inbox import process_inbox
from payez.service.record_posts import poll_mentions, record_posts
from payez.service.send_emails import send_emails
from payez.service.send_outbox import send_outbox
from payez.service.send_webhooks import send_webhooks

log = logging.getLogger("payez.worker")


class Worker:
    def __init__(
        self,
        ctx: ServiceContext,
        *,
        idle_seconds: float = 1.0,
        poll_seconds: float = 30.0,
        timer_seconds: float = 30.0,
        stream: bool = True,
        stop: threading.Event | None = None,
    ) -> None:
        self.ctx = ctx
        self.stop = stop if stop is not None else threading.Event()
        self.wake = threading.Event()
        self.replies_due = threading.Event()
        self.idle_seconds = idle_seconds
        self.poll_seconds = poll_seconds
        self.timer_seconds = timer_seconds
        self.stream = stream
        self.threads: list[threading.Thread] = []
        self._stop_requested_at: float | None = None

    def start(self) -> None:
        """Start the threads, unless stopping has begun: a stopped worker never starts again."""
        if self.stop.is_set():
            return
        loops: list[tuple[str, Callable[[], None]]] = [
            ("processor", self._process_loop),
            ("outbox", self._outbox_loop),
            ("funding", self._funding_loop),
            ("timers", self._timer_loop),
        ]
        if self.ctx.mailer is not None:
            loops.append(("emails", self._email_loop))
        if self.ctx.webhooks is not None:
            loops.append(("webhooks", self._webhook_loop))
        for network in self.ctx.networks.values():
            loops.append((f"poll-{network.name}", partial(self._poll_loop, network)))
            if self.stream:
                loops.append((f"stream-{network.name}", partial(self._stream, network)))
        for name, target in loops:
            thread = threading.Thread(target=self._guarded(name, target), name=name, daemon=True)
            thread.start()
            self.threads.append(thread)

    def request_stop(self) -> None:
        """Tell every loop to stop, without waiting."""
        if self._stop_requested_at is None:
            self._stop_requested_at = time.monotonic()
        self.stop.set()
        # The idle loops sleep on these, not on ``stop``: wake them so they see it.
        self.wake.set()
        self.replies_due.set()

    def shutdown(self, timeout: float = 4.0) -> list[str]:
        """Stop, and wait for the threads until ``timeout`` seconds after the stop was first
        requested; returns the names of those still running, which are abandoned (daemon threads
        end with the process; what they were doing is retried from the database later)."""
        self.request_stop()
        assert self._stop_requested_at is not None
        deadline = self._stop_requested_at + timeout
        for thread in self.threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        left = [thread.name for thread in self.threads if thread.is_alive()]
        if left:
            log.warning("worker stopped; abandoning threads still busy: %s", ", ".join(left))
        return left

    def _guarded(self, name: str, target: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            while not self.stop.is_set():
                try:
                    target()
                    return
                except Exception:  # a loop must outlive any single failure
                    log.exception("worker loop %s failed; restarting", name)
                    self.stop.wait(1.0)

        return run

    # Idle loops sleep until woken (a recorded post wakes the processor, a decided batch wakes
    # the outbox sender) or until ``idle_seconds``: what other processes write (a confirmation
    # on the web app, a reply due for a retry) is picked up within that time.
    def _process_loop(self) -> None:
        while not self.stop.is_set():
            if process_inbox(self.ctx, batch_size=self.ctx.settings.inbox_batch_size) == 0:
                self.wake.wait(self.idle_seconds)
                self.wake.clear()
            else:
                self.replies_due.set()

    def _outbox_loop(self) -> None:
        while not self.stop.is_set():
            if send_outbox(self.ctx) == 0:
                self.replies_due.wait(self.idle_seconds)
                self.replies_due.clear()

    def _email_loop(self) -> None:
        # Emails are queued by the web app as well as by the processor: polled, not woken.
        while not self.stop.is_set():
            if send_emails(self.ctx) == 0:
                self.stop.wait(self.idle_seconds)

    def _webhook_loop(self) -> None:
        # Events are written by the processor and the web app (refunds, confirmations): polled.
        sender = self.ctx.webhooks
        while sender is not None and not self.stop.is_set():
            if send_webhooks(self.ctx, sender) == 0:
                self.stop.wait(self.idle_seconds)

    def _funding_loop(self) -> None:
        while not self.stop.is_set():
            if fund_waiting_posts(self.ctx):
                self.wake.set()
            self.stop.wait(self.idle_seconds)

    def _timer_loop(self) -> None:
        while not self.stop.is_set():
            send_claim_reminders(self.ctx)
            refund_expired_claims(self.ctx)
            expire_confirmations(self.ctx)
            sweep_handed_over_accounts(self.ctx)
            self.stop.wait(self.timer_seconds)

    def _poll_loop(self, network: SocialNetwork) -> None:
        # The saved cursor is the safety net under the stream: whatever a stream missed, a poll
        # picks up, and the inbox's unique key makes the overlap harmless.
        while not self.stop.is_set():
            try:
                if poll_mentions(self.ctx, network, self.stop):
                    self.wake.set()
            except NetworkError as exc:
                log.warning("polling %s failed: %s", network.name, exc)
            self.stop.wait(self.poll_seconds)

    def _stream(self, network: SocialNetwork) -> None:
        # Posts are held until the network hands over the cursor that follows them, then
        # recorded with it in one transaction: one commit per burst instead of two per post. A
        # crash in between loses nothing: the cursor saved is still older than those posts.
        held: list[Post] = []

        def on_post(post: Post) -> None:
            held.append(post)

        def on_cursor(cursor: str) -> None:
            posts = held[:]
            record_posts(self.ctx, network, posts, cursor)
            del held[: len(posts)]
            if posts:
                self.wake.set()

        with self.ctx.engine.connect() as conn:
            cursor = cursors.load(conn, network.name)
        # Every (re)connection first backfills from the saved cursor, so a restart reads only
        # what it has not recorded yet.
        network.stream_mentions(on_post, self.stop, cursor=cursor, on_cursor=on_cursor)

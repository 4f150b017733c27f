"""Rate limits shared by a whole deployment, and a bound on password checks running at once."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from medcite.errors import BusyError, ConfigurationError, RateLimitError
from medcite.store.base import Store

# How long a sign-in waits for a free password check before it is told to come back.
PASSWORD_CHECK_WAIT_S = 0.5


class StoreRateLimiter:
    """At most ``limit`` events per client in any ``window`` seconds, counted in the store.

    Every process serving the store shares the count, and a hit is counted (or refused) in one
    write transaction, so neither concurrent requests nor extra workers can overrun the limit.
    Hits expire with the window, so a flood of clients leaves no lasting rows.
    """

    def __init__(self, store: Store, bucket: str, limit: int, window: float = 60.0,
                 clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.bucket = bucket
        self.limit = limit
        self.window = window
        self.clock = clock

    def hit(self, client: str, what: str = "requests") -> int:
        """Count one event for ``client`` and return its id; raise ``RateLimitError`` instead
        when the client is at the limit."""
        now = self.clock()
        hit_id, oldest = self.store.rate_limits.take(self.bucket, client, self.limit,
                                                     self.window, now)
        if hit_id is None:
            retry = max(1, math.ceil(oldest + self.window - now))
            raise RateLimitError(
                f"too many {what}: at most {self.limit} per {self.window:g} seconds; "
                f"try again in {retry} seconds", retry_after=retry)
        return hit_id

    def give_back(self, hit_id: int) -> None:
        """Uncount an event that turned out not to count (a correct password)."""
        self.store.rate_limits.give_back(hit_id)


class PasswordChecks:
    """At most ``slots`` password checks at once in this process: an argon2 check takes 64 MiB
    and a core's worth of time, so a burst must not run them all together. A check that finds no
    free slot within ``wait`` seconds is refused (``BusyError``, HTTP 503) instead of queueing."""

    def __init__(self, slots: int, wait: float = PASSWORD_CHECK_WAIT_S) -> None:
        if slots < 1:
            raise ConfigurationError(f"MEDCITE_SIGN_IN_CONCURRENCY is {slots}; at least one "
                                     "password check must be allowed at a time")
        self.slots = slots
        self.wait = wait
        self._semaphore = threading.BoundedSemaphore(slots)

    @contextmanager
    def slot(self) -> Iterator[None]:
        if not self._semaphore.acquire(timeout=self.wait):
            raise BusyError(f"{self.slots} sign-ins are being checked already; try again in a "
                            "second", retry_after=1)
        try:
            yield
        finally:
            self._semaphore.release()

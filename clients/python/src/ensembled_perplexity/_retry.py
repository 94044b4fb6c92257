"""When to send a failed call again, and after how long."""

from __future__ import annotations

from typing import Optional

from ._errors import APIConnectionError, APIError, EnsembledPerplexityError, StreamError

BACKOFF_SECONDS = 0.5


def retry_wait(
    err: EnsembledPerplexityError, attempt: int, max_retries: int, max_wait: float, transient: bool
) -> Optional[float]:
    """Seconds to wait before attempt ``attempt + 1``, or None when ``err`` must be raised.

    429 and 503 are always retried, after the server's ``Retry-After`` when it sent one; with ``transient`` also
    502, 504, lost connections, timeouts and broken streams. A ``Retry-After`` beyond ``max_wait`` is raised at
    once rather than slept through."""
    if attempt >= max_retries:
        return None
    if isinstance(err, APIError):
        retryable = err.status in (429, 503) or (transient and err.status in (502, 504))
    else:
        retryable = transient and isinstance(err, (APIConnectionError, StreamError))
    if not retryable:
        return None
    if err.retry_after is not None:
        return err.retry_after if err.retry_after <= max_wait else None
    return min(BACKOFF_SECONDS * 2**attempt, max_wait)

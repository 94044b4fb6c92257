"""Scoring any number of texts so that one bad text never costs its neighbours: a 400 naming ``texts[i]`` puts
the error on that text and resends the rest, a 413 splits the batch, and overload or backend trouble is retried
(honouring ``Retry-After``). Anything else (bad key, unknown model) is raised."""

from __future__ import annotations

import dataclasses
import re
import time
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from itertools import islice
from typing import TYPE_CHECKING, Any, Deque, Dict, Iterable, Iterator, List, Optional

from ._errors import BadRequestError, EnsembledPerplexityError, PayloadTooLargeError
from ._models import TextError, TextResult
from ._retry import retry_wait

if TYPE_CHECKING:
    from ._client import Client

_TEXT_PARAM = re.compile(r"^texts\[(\d+)\]")


def score_many(
    client: "Client",
    texts: Iterable[str],
    *,
    batch: int,
    concurrency: int,
    max_retries: int,
    request: Dict[str, Any],
) -> Iterator[TextResult]:
    """Yields one result per text, in input order; reads ``texts`` lazily, ``concurrency`` batches ahead."""
    if batch < 1 or concurrency < 1:
        raise ValueError("batch and concurrency must be at least 1")
    if isinstance(texts, str):
        raise TypeError("texts must be an iterable of strings, not one string")
    source = iter(texts)
    pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="ensembled-perplexity")
    pending: Deque["Future[List[TextResult]]"] = deque()
    offset = 0

    def submit_next() -> bool:
        nonlocal offset
        chunk = list(islice(source, batch))
        if not chunk:
            return False
        for text in chunk:
            if not isinstance(text, str):
                raise TypeError(f"texts must be strings, got {type(text).__name__}")
        pending.append(pool.submit(score_batch, client, chunk, offset, max_retries, request))
        offset += len(chunk)
        return True

    try:
        while len(pending) < concurrency and submit_next():
            pass
        while pending:
            results = pending.popleft().result()
            submit_next()
            yield from results
    finally:
        # Stopping early (break, an error) drops what has not started; running requests finish in the background.
        pool.shutdown(wait=False, cancel_futures=True)


def score_batch(
    client: "Client", texts: List[str], offset: int, max_retries: int, request: Dict[str, Any]
) -> List[TextResult]:
    out: List[Optional[TextResult]] = [None] * len(texts)
    _score_into(client, list(range(len(texts))), texts, out, max_retries, request)
    return [dataclasses.replace(r, index=offset + i) for i, r in enumerate(out) if r is not None]


def _score_into(
    client: "Client",
    slots: List[int],
    texts: List[str],
    out: List[Optional[TextResult]],
    max_retries: int,
    request: Dict[str, Any],
) -> None:
    pending = slots
    attempt = 0
    while pending:
        try:
            response = client._perplexity({**request, "texts": [texts[s] for s in pending]}, max_retries=0)
            for result in response.results:
                out[pending[result.index]] = result
            return
        except BadRequestError as err:
            match = _TEXT_PARAM.match(err.param or "")
            if err.status != 400 or not match or int(match.group(1)) >= len(pending):
                raise
            at = int(match.group(1))
            message = re.sub(r"^texts\[\d+\]: ", "", err.message)
            out[pending[at]] = TextResult.failed(pending[at], TextError(type=err.type, message=message))
            pending = pending[:at] + pending[at + 1 :]
        except PayloadTooLargeError as err:
            if len(pending) == 1:
                error = TextError(type=err.type, message="the text is larger than the server accepts")
                out[pending[0]] = TextResult.failed(pending[0], error)
                return
            half = (len(pending) + 1) // 2
            _score_into(client, pending[:half], texts, out, max_retries, request)
            _score_into(client, pending[half:], texts, out, max_retries, request)
            return
        except EnsembledPerplexityError as err:
            wait = retry_wait(err, attempt, max_retries, client.max_retry_wait, transient=True)
            if wait is None:
                raise
            attempt += 1
            time.sleep(wait)

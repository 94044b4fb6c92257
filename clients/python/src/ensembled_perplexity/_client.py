"""``Client``: the Ensembled Perplexity API from Python, with the standard library only."""

from __future__ import annotations

import json
import os
import socket
import time
import urllib.parse
from typing import Any, Callable, Dict, Iterable, Iterator, List, Optional, Sequence, TypeVar, Union

from ._batch import score_many as _score_many
from ._errors import APIConnectionError, APITimeoutError, EnsembledPerplexityError, StreamError
from ._http import NDJSON, open_request, read_json
from ._models import Health, ModelInfo, PerplexityResponse, StreamSummary, TextResult
from ._retry import retry_wait

DEFAULT_URL = "http://127.0.0.1:8000"
T = TypeVar("T")
Details = Union[str, Sequence[str], None]


class Client:
    """A client of one Ensembled Perplexity server.

    ``url`` defaults to ``$EP_URL`` (else ``http://127.0.0.1:8000``) and ``api_key`` to ``$EP_API_KEY``.
    ``timeout`` (seconds) bounds each call; for a stream, each wait for the next line. 429 and 503 answers are
    retried ``max_retries`` times after their ``Retry-After`` (one longer than ``max_retry_wait`` is raised)."""

    def __init__(
        self,
        url: Optional[str] = None,
        api_key: Optional[str] = None,
        timeout: Optional[float] = 120.0,
        *,
        max_retries: int = 2,
        max_retry_wait: float = 60.0,
    ) -> None:
        base = url or os.environ.get("EP_URL") or DEFAULT_URL
        parsed = urllib.parse.urlsplit(base)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise ValueError(f"url must be an http(s) URL, got {base!r}")
        if parsed.query or parsed.username:
            # A key belongs in the Authorization header, never in a URL that ends up in logs.
            raise ValueError("url must not carry a query string or credentials; pass api_key")
        self.url = base.rstrip("/")
        self.api_key = api_key if api_key is not None else os.environ.get("EP_API_KEY") or None
        self.timeout = timeout
        self.max_retries = max_retries
        self.max_retry_wait = max_retry_wait

    def __repr__(self) -> str:
        return f"Client({self.url!r}, api_key={'***' if self.api_key else None})"

    # Scoring

    def perplexity(
        self,
        texts: Sequence[str],
        models: Optional[Sequence[str]] = None,
        min_models: Optional[int] = None,
        weights: Optional[Dict[str, float]] = None,
        details: Details = None,
        window_chars: Optional[int] = None,
        flag_fpr: Optional[float] = None,
        *,
        cache: Optional[bool] = None,
        timeout_ms: Optional[int] = None,
    ) -> PerplexityResponse:
        """Scores ``texts`` with every model (or ``models``) and the ensemble; results come in request order."""
        body = _request_body(
            texts, models, min_models, weights, details, window_chars, flag_fpr, cache, timeout_ms
        )
        return self._perplexity(body, self.max_retries)

    def stream(
        self,
        texts: Sequence[str],
        models: Optional[Sequence[str]] = None,
        min_models: Optional[int] = None,
        weights: Optional[Dict[str, float]] = None,
        details: Details = None,
        window_chars: Optional[int] = None,
        flag_fpr: Optional[float] = None,
        *,
        cache: Optional[bool] = None,
        timeout_ms: Optional[int] = None,
    ) -> "Stream":
        """Scores ``texts`` as an NDJSON stream: yields each text's result as it completes (completion order; see
        ``result.index``). After the loop, ``stream.summary`` holds the models used and the usage. Closing the
        stream early (``break`` inside ``with``) stops the job on the server."""
        body = _request_body(
            texts, models, min_models, weights, details, window_chars, flag_fpr, cache, timeout_ms
        )
        body["stream"] = True
        url = self.url + "/v1/perplexity"
        response = self._retrying(
            self.max_retries,
            lambda: open_request(url, "POST", self._headers(), body, self.timeout, accept=NDJSON),
        )
        return Stream(response, url)

    def score_many(
        self,
        texts: Iterable[str],
        batch: int = 256,
        concurrency: int = 4,
        *,
        max_retries: int = 5,
        **request: Any,
    ) -> Iterator[TextResult]:
        """Scores any number of texts (read lazily) in batches, ``concurrency`` requests at a time, and yields
        one result per text in input order (``result.index`` counts from 0 over the whole input).

        A 413 splits a batch; a text the server refuses (400 naming ``texts[i]``) gets a result with ``error``
        and its neighbours are sent again; 429/502/503/504 and lost connections are retried up to
        ``max_retries`` times, honouring ``Retry-After``. ``request`` takes ``perplexity``'s other fields
        (``models``, ``weights``, ``details``, ...)."""
        body = _request_body(["-"], **request)
        del body["texts"]
        return _score_many(
            self, texts, batch=batch, concurrency=concurrency, max_retries=max_retries, request=body
        )

    # Everything else

    def models(self) -> List[ModelInfo]:
        """``GET /v1/models``: the models, their context lengths and backend health."""
        data = self._json("GET", "/v1/models")
        return [ModelInfo.from_json(m) for m in data["data"]]

    def health(self) -> Health:
        """``GET /readyz``: whether enough models can serve (answers, rather than raises, when not ready)."""
        url = self.url + "/readyz"
        response = self._retrying(
            0, lambda: open_request(url, "GET", {}, None, self.timeout, answer_statuses=(503,))
        )
        return Health.from_json(read_json(response, url))

    def ensemble_perplexity(
        self, prompts: Sequence[str], model_names: Union[Sequence[str], str, None] = None
    ) -> Dict[str, List[float]]:
        """The earlier project's call: ``{model: [perplexity of each prompt]}``."""
        if isinstance(prompts, str):
            raise TypeError("prompts must be a list of strings, not one string")
        path = "/ensemble_perplexity"
        if model_names is not None:
            names = model_names if isinstance(model_names, str) else ",".join(model_names)
            path += "?" + urllib.parse.urlencode({"model_names": names})
        data = self._json("POST", path, {"prompts": list(prompts)})
        return {name: list(values) for name, values in data.items()}

    def model_names(self) -> List[str]:
        """``GET /ensemble_model_names``."""
        return list(self._json("GET", "/ensemble_model_names"))

    # Plumbing

    def _perplexity(self, body: Dict[str, Any], max_retries: int) -> PerplexityResponse:
        return PerplexityResponse.from_json(self._json("POST", "/v1/perplexity", body, max_retries))

    def _headers(self) -> Dict[str, str]:
        return {"authorization": f"Bearer {self.api_key}"} if self.api_key else {}

    def _json(self, method: str, path: str, body: Any = None, max_retries: Optional[int] = None) -> Any:
        url = self.url + path
        retries = self.max_retries if max_retries is None else max_retries
        return self._retrying(
            retries, lambda: read_json(open_request(url, method, self._headers(), body, self.timeout), url)
        )

    def _retrying(self, max_retries: int, call: Callable[[], T]) -> T:
        attempt = 0
        while True:
            try:
                return call()
            except EnsembledPerplexityError as err:
                wait = retry_wait(err, attempt, max_retries, self.max_retry_wait, transient=False)
                if wait is None:
                    raise
                attempt += 1
                time.sleep(wait)


class Stream(Iterator[TextResult]):
    """Results of a streamed request as they arrive; ``summary`` is set once the stream has ended."""

    def __init__(self, response: Any, url: str) -> None:
        self._response = response
        self._url = url
        self.summary: Optional[StreamSummary] = None

    def __iter__(self) -> "Stream":
        return self

    def __next__(self) -> TextResult:
        while True:
            try:
                raw = self._response.readline()
            except socket.timeout:
                self.close()
                raise APITimeoutError(f"{self._url} stopped sending results", type="timeout") from None
            except (ConnectionError, OSError) as err:
                self.close()
                raise APIConnectionError(f"the stream from {self._url} broke: {err}", type="connection_error") from None
            if not raw:
                self.close()
                raise StopIteration
            if not raw.strip():
                continue
            line = json.loads(raw.decode("utf-8"))
            if "summary" in line:
                self.summary = StreamSummary.from_json(line["summary"])
                continue
            if "error" in line and "index" not in line:
                self.close()
                error = line["error"]
                raise StreamError(
                    error.get("message", "the stream failed"), type=error.get("type", "unknown"), status=200
                )
            return TextResult.from_json(line)

    def close(self) -> None:
        """Stops reading; the server stops scoring the rest."""
        self._response.close()

    def __enter__(self) -> "Stream":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _request_body(
    texts: Sequence[str],
    models: Optional[Sequence[str]] = None,
    min_models: Optional[int] = None,
    weights: Optional[Dict[str, float]] = None,
    details: Details = None,
    window_chars: Optional[int] = None,
    flag_fpr: Optional[float] = None,
    cache: Optional[bool] = None,
    timeout_ms: Optional[int] = None,
) -> Dict[str, Any]:
    if isinstance(texts, str):
        raise TypeError("texts must be a list of strings, not one string")
    body: Dict[str, Any] = {"texts": list(texts)}
    if models is not None:
        body["models"] = [models] if isinstance(models, str) else list(models)
    if details is not None:
        body["details"] = details if isinstance(details, str) else list(details)
    for name, value in (
        ("min_models", min_models),
        ("weights", weights),
        ("window_chars", window_chars),
        ("flag_fpr", flag_fpr),
        ("cache", cache),
        ("timeout_ms", timeout_ms),
    ):
        if value is not None:
            body[name] = value
    return body


__all__ = ["Client", "Stream"]

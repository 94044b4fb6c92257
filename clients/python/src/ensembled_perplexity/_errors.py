"""What the client raises. Every error is an ``EnsembledPerplexityError`` carrying ``type``, ``message``,
``param``, ``status`` and ``retry_after``; match on the class or on ``type``, never on the text."""

from __future__ import annotations

from typing import Optional


class EnsembledPerplexityError(Exception):
    """Base class of everything the client raises."""

    def __init__(
        self,
        message: str,
        *,
        type: str,
        status: Optional[int] = None,
        param: Optional[str] = None,
        retry_after: Optional[float] = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        #: Machine-readable kind, e.g. ``invalid_request``, ``rate_limit_exceeded``, ``connection_error``.
        self.type = type
        #: HTTP status, or ``None`` when no answer arrived.
        self.status = status
        #: The request field at fault, e.g. ``texts[3]``, when the server named one.
        self.param = param
        #: Seconds the server asked to wait (``Retry-After``), when given.
        self.retry_after = retry_after

    def __str__(self) -> str:
        where = f" ({self.param})" if self.param else ""
        status = f"{self.status} " if self.status is not None else ""
        return f"{status}{self.type}{where}: {self.message}"


class APIError(EnsembledPerplexityError):
    """The server answered with an error status."""

    @property
    def retryable(self) -> bool:
        """Whether the same request may succeed later (rate limit, overload, backend trouble, deadline)."""
        return self.status in (429, 502, 503, 504)


class BadRequestError(APIError):
    """400, 404, 405, 415: the request is wrong; ``param`` names the field."""


class AuthenticationError(APIError):
    """401: no API key, or one the server does not accept. Set ``EP_API_KEY`` or pass ``api_key``."""


class PayloadTooLargeError(APIError):
    """413: the body is over the server's limit; send fewer texts per request (``score_many`` splits)."""


class RateLimitError(APIError):
    """429: the key is over its rate limit; ``retry_after`` says when to come back."""


class ServiceUnavailableError(APIError):
    """503: not enough models can serve, or the server is overloaded; ``retry_after`` says when to retry."""


class APIConnectionError(EnsembledPerplexityError):
    """The server could not be reached, or the connection broke."""


class APITimeoutError(APIConnectionError):
    """No answer within the client's ``timeout``."""


class StreamError(EnsembledPerplexityError):
    """A stream failed after its first results (which were delivered)."""


_BY_STATUS = {
    400: BadRequestError,
    401: AuthenticationError,
    404: BadRequestError,
    405: BadRequestError,
    413: PayloadTooLargeError,
    415: BadRequestError,
    429: RateLimitError,
    503: ServiceUnavailableError,
}


def api_error(
    status: int,
    type: str,
    message: str,
    param: Optional[str] = None,
    retry_after: Optional[float] = None,
) -> APIError:
    """The typed error for an error status."""
    cls = _BY_STATUS.get(status, APIError)
    return cls(message, type=type, status=status, param=param, retry_after=retry_after)

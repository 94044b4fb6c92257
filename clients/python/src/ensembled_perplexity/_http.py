"""One HTTP exchange with the API over urllib, turning every failure into a typed error."""

from __future__ import annotations

import email.utils
import json
import socket
import time
import urllib.error
import urllib.request
from typing import Any, Dict, Optional, Sequence

from ._errors import APIConnectionError, APIError, APITimeoutError, EnsembledPerplexityError, api_error

NDJSON = "application/x-ndjson"


def parse_retry_after(value: Optional[str]) -> Optional[float]:
    """``Retry-After`` in seconds: delay-seconds or an HTTP date (RFC 9110, section 10.2.3)."""
    if value is None or not value.strip():
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def error_from_response(status: int, body: bytes, retry_after: Optional[float]) -> APIError:
    try:
        error = json.loads(body.decode("utf-8"))["error"]
        return api_error(status, error["type"], error["message"], error.get("param"), retry_after)
    except (ValueError, KeyError, TypeError):
        text = body.decode("utf-8", "replace")[:200] or "no body"
        return api_error(status, "http_error", text, None, retry_after)


def open_request(
    url: str,
    method: str,
    headers: Dict[str, str],
    body: Optional[Any],
    timeout: Optional[float],
    accept: str = "application/json",
    answer_statuses: Sequence[int] = (),
) -> Any:
    """Sends one request; returns the open response (2xx, or a status in ``answer_statuses``) or raises the
    typed error."""
    data = None if body is None else json.dumps(body).encode("utf-8")
    request_headers = {"accept": accept, **headers}
    if data is not None:
        request_headers["content-type"] = "application/json"
    request = urllib.request.Request(url, data=data, method=method, headers=request_headers)
    try:
        return urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as err:
        if err.code in answer_statuses:
            return err
        with err:
            payload = err.read()
        raise error_from_response(err.code, payload, parse_retry_after(err.headers.get("retry-after"))) from None
    except urllib.error.URLError as err:
        if isinstance(err.reason, socket.timeout):
            raise APITimeoutError(
                f"no answer from {url} within {timeout} s", type="timeout"
            ) from None
        raise APIConnectionError(f"cannot reach {url}: {err.reason}", type="connection_error") from None
    except socket.timeout:
        raise APITimeoutError(f"no answer from {url} within {timeout} s", type="timeout") from None
    except (ConnectionError, OSError) as err:
        raise APIConnectionError(f"cannot reach {url}: {err}", type="connection_error") from None


def read_json(response: Any, url: str) -> Any:
    try:
        with response:
            payload = response.read()
    except socket.timeout:
        raise APITimeoutError(f"{url} stopped answering", type="timeout") from None
    except (ConnectionError, OSError) as err:
        raise APIConnectionError(f"the connection to {url} broke: {err}", type="connection_error") from None
    try:
        return json.loads(payload.decode("utf-8"))
    except ValueError:
        raise EnsembledPerplexityError(
            f"{url} answered something that is not JSON", type="bad_response", status=response.status
        ) from None

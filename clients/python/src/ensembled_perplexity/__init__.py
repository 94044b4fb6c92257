"""Python client of the Ensembled Perplexity API (standard library only).

>>> from ensembled_perplexity import Client
>>> client = Client("http://127.0.0.1:8000")          # api_key defaults to $EP_API_KEY
>>> client.perplexity(["The cat sat on the mat."]).results[0].perplexity
"""

from __future__ import annotations

from typing import Dict, List, Optional, Sequence, Union

from ._client import Client, Stream
from ._errors import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    EnsembledPerplexityError,
    PayloadTooLargeError,
    RateLimitError,
    ServiceUnavailableError,
    StreamError,
)
from ._models import (
    Backend,
    Ensemble,
    Health,
    ModelError,
    ModelFigures,
    ModelInfo,
    PerplexityResponse,
    Span,
    StreamSummary,
    TextError,
    TextResult,
    TokenDetail,
    Usage,
    to_dataframe,
)

__version__ = "0.1.0"


def ensemble_perplexity(
    prompts: Sequence[str],
    model_names: Union[Sequence[str], str, None] = None,
    *,
    url: Optional[str] = None,
    api_key: Optional[str] = None,
) -> Dict[str, List[float]]:
    """The earlier project's helper: ``{model: [perplexity of each prompt]}`` for ``prompts``.

    The server comes from ``url`` or ``$EP_URL`` (default ``http://127.0.0.1:8000``), the key from ``api_key``
    or ``$EP_API_KEY``."""
    return Client(url, api_key).ensemble_perplexity(prompts, model_names)


__all__ = [
    "APIConnectionError",
    "APIError",
    "APITimeoutError",
    "AuthenticationError",
    "Backend",
    "BadRequestError",
    "Client",
    "Ensemble",
    "EnsembledPerplexityError",
    "Health",
    "ModelError",
    "ModelFigures",
    "ModelInfo",
    "PayloadTooLargeError",
    "PerplexityResponse",
    "RateLimitError",
    "ServiceUnavailableError",
    "Span",
    "Stream",
    "StreamError",
    "StreamSummary",
    "TextError",
    "TextResult",
    "TokenDetail",
    "Usage",
    "ensemble_perplexity",
    "to_dataframe",
]

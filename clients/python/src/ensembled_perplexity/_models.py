"""The API's answers as dataclasses that mirror the JSON field for field. Fields a newer server adds are kept in
``raw`` until the client learns them; fields an older server lacks are ``None``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Sequence, Union


def _opt(cls: Any, value: Any) -> Any:
    return None if value is None else cls.from_json(value)


@dataclass(frozen=True)
class TextError:
    """Why a text (or one model for a text) has no figures."""

    type: str
    message: str
    param: Optional[str] = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "TextError":
        return cls(type=data["type"], message=data["message"], param=data.get("param"))


@dataclass(frozen=True)
class TokenDetail:
    """One token as a model scored it (``details="tokens"``)."""

    id: int
    text: Optional[str]
    logprob: float
    #: Character offset of the token in the text (Python string index for BMP text); None if unaligned.
    offset: Optional[int]

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "TokenDetail":
        return cls(id=data["id"], text=data.get("text"), logprob=data["logprob"], offset=data.get("offset"))


@dataclass(frozen=True)
class Span:
    """A stretch ``text[start:end]`` with its own score (UTF-16 offsets, equal to str offsets for BMP text)."""

    start: int
    end: int
    bits_per_byte: float
    percentile: Optional[float] = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "Span":
        return cls(
            start=data["start"],
            end=data["end"],
            bits_per_byte=data["bits_per_byte"],
            percentile=data.get("percentile"),
        )


@dataclass(frozen=True)
class ModelFigures:
    """One model's figures for one text."""

    perplexity: float
    nll: float
    tokens: int
    bits_per_byte: float
    windows: int
    word_perplexity: Optional[float] = None
    percentile: Optional[float] = None
    max_window_bits_per_byte: Optional[float] = None
    token_details: Optional[List[TokenDetail]] = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "ModelFigures":
        details = data.get("token_details")
        return cls(
            perplexity=data["perplexity"],
            nll=data["nll"],
            tokens=data["tokens"],
            bits_per_byte=data["bits_per_byte"],
            windows=data["windows"],
            word_perplexity=data.get("word_perplexity"),
            percentile=data.get("percentile"),
            max_window_bits_per_byte=data.get("max_window_bits_per_byte"),
            token_details=None if details is None else [TokenDetail.from_json(t) for t in details],
        )


@dataclass(frozen=True)
class ModelError:
    """A model that has no figures for this text, and why."""

    error: TextError


@dataclass(frozen=True)
class Ensemble:
    """The models combined for one text."""

    perplexity: float
    bits_per_byte: float
    byte_perplexity: float
    spread: float
    models_used: List[str]
    degraded: bool
    missing_models: List[str]
    percentile: Optional[float] = None
    max_window: Optional[Span] = None
    spans: Optional[List[Span]] = None
    flagged: Optional[bool] = None
    flag_reasons: Optional[List[str]] = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "Ensemble":
        spans = data.get("spans")
        return cls(
            perplexity=data["perplexity"],
            bits_per_byte=data["bits_per_byte"],
            byte_perplexity=data["byte_perplexity"],
            spread=data["spread"],
            models_used=list(data["models_used"]),
            degraded=data["degraded"],
            missing_models=list(data["missing_models"]),
            percentile=data.get("percentile"),
            max_window=_opt(Span, data.get("max_window")),
            spans=None if spans is None else [Span.from_json(s) for s in spans],
            flagged=data.get("flagged"),
            flag_reasons=data.get("flag_reasons"),
        )


@dataclass(frozen=True)
class TextResult:
    """One text's result: the ensemble and each model's figures, or the text's own ``error``."""

    #: Position of the text in the request (``score_many``: in the whole input).
    index: int
    models: Dict[str, Union[ModelFigures, ModelError]]
    ensemble: Optional[Ensemble] = None
    error: Optional[TextError] = None
    raw: Dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def perplexity(self) -> Optional[float]:
        """The ensemble perplexity, or None when the text has an error."""
        return None if self.ensemble is None else self.ensemble.perplexity

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "TextResult":
        models: Dict[str, Union[ModelFigures, ModelError]] = {}
        for name, figures in data.get("models", {}).items():
            if "error" in figures:
                models[name] = ModelError(TextError.from_json(figures["error"]))
            else:
                models[name] = ModelFigures.from_json(figures)
        return cls(
            index=data["index"],
            models=models,
            ensemble=_opt(Ensemble, data.get("ensemble")),
            error=_opt(TextError, data.get("error")),
            raw=dict(data),
        )

    @classmethod
    def failed(cls, index: int, error: TextError) -> "TextResult":
        """A result that is only an error (``score_many``: a text the server refused on its own)."""
        return cls(index=index, models={}, error=error, raw={"index": index, "error": error.__dict__})


@dataclass(frozen=True)
class Usage:
    texts: int
    tokens: int
    bytes: int
    cache_hits: Optional[int] = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "Usage":
        return cls(
            texts=data["texts"], tokens=data["tokens"], bytes=data["bytes"], cache_hits=data.get("cache_hits")
        )


@dataclass(frozen=True)
class StreamSummary:
    """The last line of a stream."""

    models_used: List[str]
    degraded: bool
    usage: Usage

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "StreamSummary":
        return cls(
            models_used=list(data["models_used"]), degraded=data["degraded"], usage=Usage.from_json(data["usage"])
        )


@dataclass(frozen=True)
class PerplexityResponse:
    """``POST /v1/perplexity``: one result per text, in request order."""

    results: List[TextResult]
    models_used: List[str]
    degraded: bool
    usage: Usage

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "PerplexityResponse":
        return cls(
            results=[TextResult.from_json(r) for r in data["results"]],
            models_used=list(data["models_used"]),
            degraded=data["degraded"],
            usage=Usage.from_json(data["usage"]),
        )

    def to_dataframe(self) -> Any:
        """The results as a pandas DataFrame (one row per text). Needs pandas, which is not a dependency."""
        return to_dataframe(self.results)


@dataclass(frozen=True)
class Backend:
    id: str
    state: str
    inflight: int
    last_error: Optional[str]


@dataclass(frozen=True)
class ModelInfo:
    """A model the server scores with (``GET /v1/models``)."""

    id: str
    ready: bool
    weight: float
    max_model_len: Optional[int]
    prefix_token_id: Optional[int]
    backends: List[Backend]
    #: Why the model cannot serve on this deployment (e.g. its download was refused), or None.
    unavailable: Optional[str] = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "ModelInfo":
        return cls(
            id=data["id"],
            ready=data["ready"],
            weight=data["weight"],
            max_model_len=data.get("max_model_len"),
            prefix_token_id=data.get("prefix_token_id"),
            backends=[
                Backend(id=b["id"], state=b["state"], inflight=b["inflight"], last_error=b.get("last_error"))
                for b in data.get("backends", [])
            ],
            unavailable=data.get("unavailable"),
        )


@dataclass(frozen=True)
class Health:
    """``GET /readyz``: whether enough models can serve."""

    ready: bool
    models: Dict[str, bool]
    min_models: int
    keys_loaded: bool

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "Health":
        return cls(
            ready=data["ready"],
            models=dict(data["models"]),
            min_models=data["min_models"],
            keys_loaded=data.get("keys_loaded", True),
        )


def to_dataframe(results: Sequence[TextResult]) -> Any:
    """Results as a pandas DataFrame: one row per text with the ensemble's and each model's main figures.

    Raises ImportError when pandas is not installed (it is optional, never a dependency)."""
    try:
        import pandas as pd  # type: ignore[import-not-found, import-untyped, unused-ignore]
    except ImportError as err:
        raise ImportError("to_dataframe() needs pandas: pip install pandas") from err
    rows = []
    for r in results:
        row: Dict[str, Any] = {
            "index": r.index,
            "perplexity": r.ensemble.perplexity if r.ensemble else None,
            "bits_per_byte": r.ensemble.bits_per_byte if r.ensemble else None,
            "spread": r.ensemble.spread if r.ensemble else None,
            "degraded": r.ensemble.degraded if r.ensemble else None,
            "error": r.error.type if r.error else None,
        }
        for name, figures in r.models.items():
            if isinstance(figures, ModelFigures):
                row[f"{name}.perplexity"] = figures.perplexity
                row[f"{name}.bits_per_byte"] = figures.bits_per_byte
            else:
                row[f"{name}.perplexity"] = None
                row[f"{name}.bits_per_byte"] = None
        rows.append(row)
    return pd.DataFrame(rows).set_index("index")

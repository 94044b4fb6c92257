"""The Python client against the real local stack: whole, streamed and batched scoring, every error kind,
retries that honour Retry-After, and the earlier project's helper."""

from __future__ import annotations

import time
from typing import Any, Dict

import pytest
from conftest import clear_fault, set_fault, wait_until

import ensembled_perplexity as ep
from ensembled_perplexity import (
    AuthenticationError,
    BadRequestError,
    Client,
    ModelFigures,
    PayloadTooLargeError,
    RateLimitError,
    ServiceUnavailableError,
)

TEXTS = ["The ship sailed across the sea at dawn.", "dawn sea the across at ship sailed The."]


@pytest.fixture
def client(stack: Dict[str, Any]) -> Client:
    return Client(stack["url"], api_key=stack["key"], timeout=60)


def test_whole_request_mirrors_the_json(client: Client, stack: Dict[str, Any]) -> None:
    response = client.perplexity(TEXTS + [""])
    assert [r.index for r in response.results] == [0, 1, 2]
    first, shuffled, empty = response.results
    assert first.ensemble is not None and first.ensemble.perplexity > 1
    assert first.perplexity == first.ensemble.perplexity
    assert set(first.models) == set(stack["backends"])
    assert all(isinstance(m, ModelFigures) and m.tokens > 0 for m in first.models.values())
    # Shuffled words are less likely under every model.
    assert shuffled.perplexity is not None and shuffled.perplexity > first.ensemble.perplexity
    assert empty.error is not None and empty.error.type == "empty_text" and empty.ensemble is None
    assert response.usage.texts == 3 and response.usage.tokens > 0
    assert sorted(response.models_used) == sorted(stack["backends"])


def test_models_weights_and_details_pass_through(client: Client) -> None:
    response = client.perplexity(
        TEXTS[:1], models=["llama-sotu", "gpt2-brown"], weights={"llama-sotu": 2}, details="tokens"
    )
    result = response.results[0]
    assert set(result.models) == {"llama-sotu", "gpt2-brown"}
    figures = result.models["llama-sotu"]
    assert isinstance(figures, ModelFigures) and figures.token_details
    assert figures.token_details[0].offset == 0


def test_stream_yields_results_as_they_arrive_then_the_summary(client: Client) -> None:
    texts = [f"{TEXTS[0]} ({i})" for i in range(40)]
    with client.stream(texts) as stream:
        results = list(stream)
    assert sorted(r.index for r in results) == list(range(40))
    assert all(r.perplexity and r.perplexity > 1 for r in results)
    assert stream.summary is not None and stream.summary.usage.texts == 40
    whole = client.perplexity(texts[:3]).results
    by_index = {r.index: r.perplexity for r in results}
    assert [by_index[i] for i in range(3)] == pytest.approx([r.perplexity for r in whole])


def test_score_many_keeps_input_order_splits_on_413_and_marks_bad_texts(
    client: Client, stack: Dict[str, Any]
) -> None:
    # 120 texts of ~1 KB each: one plain request of them is over the stack's 64 KiB body limit.
    def texts():
        for i in range(120):
            yield "x" * 200_001 if i == 7 else f"{TEXTS[i % 2]} {'word ' * 190}{i}"

    assert 120 * 1000 > stack["max_body_bytes"]
    with pytest.raises(PayloadTooLargeError):
        client.perplexity([t for t in texts() if len(t) < 10_000])
    results = list(client.score_many(texts(), batch=120, concurrency=2))
    assert [r.index for r in results] == list(range(120))
    assert results[7].error is not None and results[7].ensemble is None
    assert results[7].error.type in ("invalid_request", "payload_too_large")
    assert all(r.perplexity and r.perplexity > 1 for i, r in enumerate(results) if i != 7)
    # Same text, same score: result i belongs to text i.
    assert results[0].perplexity != results[1].perplexity


def test_score_many_streams_a_lazy_iterable_in_order(client: Client) -> None:
    results = client.score_many((TEXTS[i % 2] for i in range(1000)), batch=64, concurrency=4)
    perplexities = [r.perplexity for r in results]
    assert len(perplexities) == 1000
    assert perplexities[2::2] == [perplexities[0]] * 499
    assert perplexities[3::2] == [perplexities[1]] * 499


def test_401_without_or_with_a_wrong_key(stack: Dict[str, Any]) -> None:
    for key in ("", stack["key"][:-2] + "xx"):
        with pytest.raises(AuthenticationError) as caught:
            Client(stack["url"], api_key=key or None, timeout=30).perplexity(TEXTS)
        assert caught.value.status == 401 and caught.value.type == "unauthorized"


def test_400_names_the_field(client: Client) -> None:
    with pytest.raises(BadRequestError) as caught:
        client.perplexity(TEXTS, min_models=0)
    err = caught.value
    assert err.status == 400 and err.param == "min_models" and err.type == "invalid_request"
    assert "min_models" in str(err)
    with pytest.raises(TypeError):
        client.perplexity("one string, not a list")  # type: ignore[arg-type]


def test_503_carries_retry_after_and_the_stack_recovers(client: Client, stack: Dict[str, Any]) -> None:
    backend = stack["backends"]["gpt2-brown"]
    set_fault(backend, {"kind": "status503", "onlyFor": ["/v1/completions"]})
    try:
        wait_until(lambda: not client.health().ready, 10)
        no_retries = Client(stack["url"], api_key=stack["key"], timeout=30, max_retries=0)
        with pytest.raises(ServiceUnavailableError) as caught:
            no_retries.perplexity([TEXTS[0] + " fresh"])
        assert caught.value.status == 503 and caught.value.retry_after is not None
        assert caught.value.type in ("backend_unavailable", "model_unavailable", "not_enough_models")
        # Fewer models are fine when the caller says so: the answer is flagged degraded.
        degraded = client.perplexity([TEXTS[0] + " fresh"], min_models=3).results[0]
        assert degraded.ensemble is not None and degraded.ensemble.degraded
    finally:
        clear_fault(backend)
    wait_until(lambda: client.health().ready, 15)
    assert client.perplexity(TEXTS).results[0].ensemble is not None


def test_429_is_retried_after_retry_after(stack: Dict[str, Any]) -> None:
    limited = Client(stack["url"], api_key=stack["limited_key"], timeout=30, max_retries=0)
    # Spend the key's burst (60 requests per minute).
    with pytest.raises(RateLimitError) as caught:
        for _ in range(100):
            limited.perplexity(["a"])
    assert caught.value.status == 429 and caught.value.retry_after is not None
    assert 1 <= caught.value.retry_after <= 5
    patient = Client(stack["url"], api_key=stack["limited_key"], timeout=30, max_retries=3)
    started = time.monotonic()
    assert patient.perplexity(["a"]).results[0].perplexity
    assert time.monotonic() - started >= 0.5
    # score_many retries a rate-limited batch by itself, whatever the client's own setting.
    results = list(limited.score_many(["a", "b", "c"], batch=1, concurrency=3, max_retries=5))
    assert [r.index for r in results] == [0, 1, 2] and all(r.perplexity for r in results)


def test_models_and_health(client: Client, stack: Dict[str, Any]) -> None:
    models = client.models()
    assert sorted(m.id for m in models) == sorted(stack["backends"])
    assert all(m.ready and m.max_model_len for m in models)
    health = client.health()
    assert health.ready and health.keys_loaded and set(health.models) == set(stack["backends"])


def test_seed_helper_returns_the_earlier_shape(stack: Dict[str, Any], monkeypatch: Any) -> None:
    monkeypatch.setenv("EP_URL", stack["url"])
    monkeypatch.setenv("EP_API_KEY", stack["key"])
    scores = ep.ensemble_perplexity(TEXTS)
    assert sorted(scores) == sorted(stack["backends"])
    assert all(len(v) == 2 and all(p > 1 for p in v) for v in scores.values())
    some = ep.ensemble_perplexity(TEXTS, model_names=["llama-sotu"])
    assert list(some) == ["llama-sotu"]
    figures = Client().perplexity(TEXTS).results[0].models["llama-sotu"]
    assert isinstance(figures, ModelFigures)
    assert some["llama-sotu"][0] == pytest.approx(figures.perplexity)


def test_to_dataframe_needs_pandas_only_when_called(client: Client) -> None:
    response = client.perplexity(TEXTS)
    try:
        import pandas  # noqa: F401
    except ImportError:
        with pytest.raises(ImportError, match="pip install pandas"):
            response.to_dataframe()
        return
    frame = response.to_dataframe()
    assert list(frame.index) == [0, 1]
    assert frame.loc[0, "perplexity"] == response.results[0].perplexity

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from routerapp import errors
from routerapp.optimizer.detect import detect
from routerapp.providers.base import ChatChunk, ChatRequest, ChatResult, ProviderConfig, Timeouts
from routerapp.providers.simulated import SimulatedAdapter

# Fast by default; the latency tests set their own.
QUICK = {"latency_ms": 0, "jitter_ms": 0, "chunk_delay_ms": 0}


def create_adapter(**options: Any) -> SimulatedAdapter:
    config = ProviderConfig(id=1, name="sim", kind="simulated", options={**QUICK, **options})
    return SimulatedAdapter(config)


def create_request(prompt: str = "What is the capital of France?", **params: Any) -> ChatRequest:
    # As route() does: the task type is detected once and travels on the request.
    messages = [{"role": "user", "content": prompt}]
    request = ChatRequest(model="sim-model", messages=messages, params=params)
    request.task = detect(messages)
    return request


def complete(adapter: SimulatedAdapter, request: ChatRequest, model: str = "sim-1") -> ChatResult:
    return asyncio.run(adapter.complete(request, model, Timeouts()))


def stream(adapter: SimulatedAdapter, request: ChatRequest, model: str = "sim-1") -> list[ChatChunk]:
    async def collect() -> list[ChatChunk]:
        return [chunk async for chunk in adapter.stream(request, model, Timeouts())]

    return asyncio.run(collect())


def stream_until_failure(
    adapter: SimulatedAdapter, request: ChatRequest
) -> tuple[list[ChatChunk], errors.RouterError | None]:
    received: list[ChatChunk] = []

    async def collect() -> None:
        async for chunk in adapter.stream(request, "sim-1", Timeouts()):
            received.append(chunk)

    try:
        asyncio.run(collect())
    except errors.RouterError as exc:
        return received, exc
    return received, None


# The kind of answer -> the prompt; the task type each reports is TASK_OF[kind].
PROMPTS_BY_TASK = {
    "code": "Write a Python function that reverses a linked list",
    "math": "What is 12 * (3 + 4)?",
    "summarization": (
        "Summarize the following text:\n\nThe council met on Tuesday to discuss the new park. Residents raised "
        "concerns about parking. The council agreed to commission a traffic study. A vote is expected next month."
    ),
    "translation": 'Translate "good morning my friend" into Spanish',
    "extraction": "Extract all email addresses from this text: write to ann@example.com or bob@example.org",
    "classification": "Classify the sentiment of this review as positive, negative or neutral: I loved it, great.",
    "creative": "Write a haiku about autumn leaves",
    "reasoning": "Explain why the sky is blue, step by step",
    "question": "What is the capital of France?",
    "chat": "Hey, how are you doing today?",
}
TASK_OF = {
    "translation": "summarization",
    "extraction": "summarization",
    "classification": "summarization",
    "question": "qa",
    "chat": "qa",
}


def test_the_same_request_gets_the_same_answer_and_a_different_prompt_a_different_one() -> None:
    adapter = create_adapter(quality=0.5)
    request = create_request("Tell me about the history of tea in Japan")
    first, second = complete(adapter, request), complete(adapter, request)
    # A new adapter (as the router may build per call) with the same seed agrees too.
    third = complete(create_adapter(quality=0.5), create_request("Tell me about the history of tea in Japan"))
    assert first.content == second.content == third.content
    assert first.body["x_simulated"]["good"] == third.body["x_simulated"]["good"]
    assert (
        complete(adapter, create_request("Tell me about the history of coffee in Brazil")).content
        != first.content
    )


def test_the_seed_and_the_model_change_the_draws() -> None:
    prompts = [f"Tell me about topic number {i}" for i in range(30)]
    default, reseeded = create_adapter(), create_adapter(seed=7)

    def draws(adapter: SimulatedAdapter, model: str = "sim-1") -> list[bool]:
        return [
            complete(adapter, create_request(p), model=model).body["x_simulated"]["good"] for p in prompts
        ]

    assert draws(default) != draws(reseeded)
    assert draws(default) != draws(default, model="sim-2")


def test_it_answers_like_a_model_for_each_task_type_not_an_echo() -> None:
    adapter = create_adapter(quality=1.0)
    answers = {}
    for task, prompt in PROMPTS_BY_TASK.items():
        result = complete(adapter, create_request(prompt))
        assert result.body["x_simulated"]["task_type"] == TASK_OF.get(task, task)
        assert result.content.strip()
        assert prompt not in result.content
        answers[task] = result.content
    assert len(set(answers.values())) == len(answers)
    assert answers["code"].startswith("```python\ndef ")
    assert "84" in answers["math"]
    assert answers["summarization"].count(".") <= 3 and "council" in answers["summarization"]
    assert "buenos días" in answers["translation"] and "amigo" in answers["translation"]
    assert json.loads(answers["extraction"]) == {"emails": ["ann@example.com", "bob@example.org"]}
    assert answers["classification"].startswith("Label: positive")
    assert "autumn" in answers["creative"]
    assert "sky" in answers["reasoning"]
    assert "capital" in answers["question"]


def test_code_answers_use_the_language_the_prompt_names() -> None:
    result = complete(
        create_adapter(quality=1.0), create_request("Write a Go function to merge two sorted slices")
    )
    assert result.content.startswith("```go\nfunc MergeTwoSorted(")


@pytest.mark.parametrize(
    ("prompt", "expected"),
    [
        ("What is 12 * (3 + 4)?", "84"),
        ("Calculate 2 ** 10 - 24", "1000"),
        ("What is 7 divided by 2?", "3.5"),
        ("what's 15% of 80", "12"),
    ],
)
def test_arithmetic_is_right_at_full_quality(prompt: str, expected: str) -> None:
    result = complete(create_adapter(quality=1.0), create_request(prompt))
    assert result.body["x_simulated"] == {"task_type": "math", "quality": 1.0, "good": True, "attempt": 0}
    assert f"= {expected}" in result.content


def test_arithmetic_is_slightly_wrong_at_zero_quality() -> None:
    for a in range(2, 12):
        result = complete(create_adapter(quality={"math": 0.0}), create_request(f"What is {a} * 11 + 5?"))
        assert result.body["x_simulated"]["good"] is False
        assert f"= {a * 11 + 5}." not in result.content
        # Off by a little, as a weak model would be.
        wrong = int(result.content.rstrip(".").split("= ")[-1].split(",")[0])
        assert 0 < abs(wrong - (a * 11 + 5)) <= 2


def test_quality_sets_the_fraction_of_good_answers() -> None:
    adapter = create_adapter(quality={"qa": 0.3, "default": 1.0})
    good = [complete(adapter, create_request(f"What is the tallest tree in forest {i}?")) for i in range(200)]
    share = sum(r.body["x_simulated"]["good"] for r in good) / len(good)
    assert 0.2 <= share <= 0.4
    assert complete(adapter, create_request("Write a haiku about rain")).body["x_simulated"]["quality"] == 1.0


def test_one_provider_hosts_models_of_different_character() -> None:
    adapter = create_adapter(quality=1.0, models={"weak": {"quality": 0.0}})
    request = create_request("What is 6 * 7?")
    assert "= 42" in complete(adapter, request, model="strong").content
    assert "= 42" not in complete(adapter, request, model="weak").content
    assert complete(adapter, request, model="weak").body["system_fingerprint"] == "sim-weak"


def test_it_fails_at_about_the_configured_rate_over_many_distinct_requests() -> None:
    adapter = create_adapter(fail_rate=0.3)
    failures = 0
    for i in range(400):
        try:
            complete(adapter, create_request(f"Question number {i}: what is the capital of country {i}?"))
        except errors.ProviderUnavailableError as exc:
            assert exc.status == 503 and exc.retryable
            failures += 1
    assert 0.22 <= failures / 400 <= 0.38


def test_it_always_fails_at_fail_rate_one_and_the_probe_says_so() -> None:
    adapter = create_adapter(fail_rate=1.0)
    for i in range(20):
        with pytest.raises(errors.ProviderUnavailableError):
            complete(adapter, create_request(f"Hello number {i}"))
    with pytest.raises(errors.ProviderUnavailableError):
        asyncio.run(adapter.probe("sim-1", Timeouts()))
    asyncio.run(create_adapter(fail_rate=0.5).probe("sim-1", Timeouts()))


def test_a_retry_of_the_same_request_id_can_succeed() -> None:
    adapter = create_adapter(fail_rate=0.5)
    recovered = 0
    for i in range(20):
        request = create_request(f"Retry me, request {i}")
        outcomes = []
        for _attempt in range(8):
            try:
                complete(adapter, request)
                outcomes.append("ok")
            except errors.ProviderUnavailableError:
                outcomes.append("failed")
        recovered += outcomes[0] == "failed" and "ok" in outcomes
    assert recovered > 0


def test_failure_kinds_include_rate_limits_with_retry_after() -> None:
    adapter = create_adapter(fail_rate=1.0, fail_kinds={"rate_limit": 1.0}, retry_after_s=2.5)
    with pytest.raises(errors.RateLimitError) as caught:
        complete(adapter, create_request())
    assert caught.value.retry_after == 2.5 and caught.value.status == 429

    seen = set()
    mixed = create_adapter(fail_rate=1.0, fail_kinds=["unavailable", "rate_limit", "timeout"])
    for i in range(60):
        with pytest.raises(errors.RouterError) as caught:
            complete(mixed, create_request(f"Mixed failure {i}"))
        seen.add(type(caught.value))
    assert seen == {errors.ProviderUnavailableError, errors.RateLimitError, errors.UpstreamTimeoutError}


def test_a_prompt_over_the_context_window_is_rejected() -> None:
    adapter = create_adapter(context_window=100)
    with pytest.raises(errors.ContextWindowExceededError) as caught:
        complete(adapter, create_request("word " * 200))
    assert caught.value.code == "context_length_exceeded" and not caught.value.retryable
    assert complete(adapter, create_request("word " * 50)).content


def test_the_content_filter_rejects_flagged_words() -> None:
    adapter = create_adapter(content_filter=["forbidden", "Secret Plan"])
    with pytest.raises(errors.ContentPolicyError):
        complete(adapter, create_request("Tell me about the FORBIDDEN zone"))
    with pytest.raises(errors.ContentPolicyError):
        complete(adapter, create_request("Explain the secret plan step by step"))
    assert complete(adapter, create_request("Tell me about forbiddenness")).content


def test_max_tokens_truncates_the_answer_and_reports_length() -> None:
    adapter = create_adapter(quality=1.0)
    prompt = PROMPTS_BY_TASK["reasoning"]
    full = complete(adapter, create_request(prompt))
    for params in ({"max_tokens": 10}, {"max_completion_tokens": 10}):
        cut = complete(adapter, create_request(prompt, **params))
        assert cut.finish_reason == "length"
        assert cut.usage.completion_tokens <= 10
        assert full.content.startswith(cut.content) and len(cut.content) < len(full.content)
    assert complete(adapter, create_request(prompt, max_tokens=1000)).finish_reason == "stop"


def test_usage_is_reported_by_the_simulator_itself() -> None:
    result = complete(create_adapter(), create_request("Hello there, how are you?"))
    assert result.usage.estimated is False
    assert result.usage.prompt_tokens > 0 and result.usage.completion_tokens > 0
    assert result.body["usage"]["total_tokens"] == result.usage.total_tokens
    assert result.body["object"] == "chat.completion" and result.body["model"] == "sim-1"
    assert result.body["system_fingerprint"] == "sim-sim-1"


def test_content_part_lists_are_read() -> None:
    messages = [{"role": "user", "content": [{"type": "text", "text": "What is 9 * 9?"}]}]
    request = ChatRequest(model="sim-model", messages=messages)
    request.task = detect(messages)
    assert "= 81" in complete(create_adapter(quality=1.0), request).content


def test_a_stream_sends_role_words_finish_and_usage_and_matches_the_plain_answer() -> None:
    adapter = create_adapter(quality=1.0)
    prompt = PROMPTS_BY_TASK["code"]
    chunks = stream(adapter, create_request(prompt))
    assert chunks[0].data["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    content_chunks = [c for c in chunks if c.text]
    assert len(content_chunks) > 5 and all(len(c.text.split()) <= 1 for c in content_chunks)
    finish, usage = chunks[-2], chunks[-1]
    assert finish.finish_reason == "stop" and finish.data["x_simulated"]["task_type"] == "code"
    assert usage.data["choices"] == [] and usage.usage is not None and usage.usage.estimated is False
    text = "".join(c.text for c in chunks)
    plain = complete(adapter, create_request(prompt))
    assert text == plain.content
    assert usage.usage.completion_tokens == plain.usage.completion_tokens
    assert {c.data["id"] for c in chunks} == {chunks[0].data["id"]}


def test_a_stream_stops_at_max_tokens_with_length() -> None:
    chunks = stream(create_adapter(), create_request(PROMPTS_BY_TASK["reasoning"], max_tokens=5))
    assert chunks[-2].finish_reason == "length"
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens <= 5


def test_stream_fail_after_cuts_the_stream_after_n_content_chunks() -> None:
    adapter = create_adapter(stream_fail_after=3)
    received, error = stream_until_failure(adapter, create_request(PROMPTS_BY_TASK["reasoning"]))
    assert isinstance(error, errors.ProviderUnavailableError) and error.retryable
    assert [bool(c.text) for c in received] == [False, True, True, True]  # the role chunk, then three words
    assert all(c.finish_reason is None for c in received)
    # Non-streamed requests are not affected.
    assert complete(adapter, create_request(PROMPTS_BY_TASK["reasoning"])).finish_reason == "stop"


def test_stream_fail_rate_cuts_only_some_streams() -> None:
    adapter = create_adapter(stream_fail_after=2, stream_fail_rate=0.5)
    outcomes = [stream_until_failure(adapter, create_request(f"Hello number {i}"))[1] for i in range(40)]
    cut = sum(error is not None for error in outcomes)
    assert 5 <= cut <= 35


def test_a_failing_stream_raises_before_any_chunk() -> None:
    received, error = stream_until_failure(create_adapter(fail_rate=1.0), create_request())
    assert received == [] and isinstance(error, errors.ProviderUnavailableError)


class TimedAdapter(SimulatedAdapter):
    """The real simulator, noting each wait instead of sleeping through it: the test, not the
    wall clock, checks how long an answer is made to take."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.slept: list[float] = []

    async def _sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        await asyncio.sleep(0)  # still a suspension point, as a real sleep is


def timed_adapter(**options: Any) -> TimedAdapter:
    return TimedAdapter(create_adapter(**options).provider)


def test_latency_is_waited_before_the_answer() -> None:
    adapter = timed_adapter(latency_ms=20, jitter_ms=5)
    complete(adapter, create_request())
    [waited] = adapter.slept
    assert 0.015 <= waited <= 0.025

    adapter = timed_adapter(latency_ms=20, jitter_ms=0, chunk_delay_ms=2)
    chunks = stream(adapter, create_request("Hello!"))
    content_chunks = sum(1 for c in chunks if c.text)
    # The latency before the first token, then the chunk delay between two pieces.
    assert adapter.slept == pytest.approx([0.020] + [0.002] * (content_chunks - 1))


def test_tokens_per_s_makes_long_answers_slower() -> None:
    adapter = timed_adapter(tokens_per_s=2000)
    result = complete(adapter, create_request(PROMPTS_BY_TASK["reasoning"]))
    assert result.usage.completion_tokens > 0
    assert adapter.slept == [pytest.approx(result.usage.completion_tokens / 2000)]


def test_a_latency_over_the_timeout_raises_a_timeout() -> None:
    adapter = timed_adapter(latency_ms=500, jitter_ms=0)
    with pytest.raises(errors.UpstreamTimeoutError):
        asyncio.run(adapter.complete(create_request(), "sim-1", Timeouts(total=0.02)))
    assert adapter.slept == [0.02]  # gave up at the timeout, not after the whole latency

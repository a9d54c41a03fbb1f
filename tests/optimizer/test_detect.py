from __future__ import annotations

import pytest

from routerapp.optimizer.detect import TASK_TYPES, detect_task_type, detect_task_type_with_confidence

ARTICLE = (
    "The city council met on Tuesday to discuss the new park. Residents raised concerns about parking, and one "
    "speaker asked why the code of conduct for vendors was still missing. The council agreed to commission a "
    "traffic study before the final vote. "
) * 8

CASES = [
    ("Write a Python function that reverses a linked list", "code"),
    ("Fix this bug:\n```js\nconst x = items.map(i => i.id\n```", "code"),
    ("Why does my Rust code fail to compile with a borrow checker error?", "code"),
    ("def add(a, b):\n    return a + b\n\nWhat does this do?", "code"),
    ("What is 12 * (3 + 4)?", "math"),
    ("Calculate the derivative of x^2 + 3x", "math"),
    ("What is 15% of 80?", "math"),
    ("If a train travels 60 miles per hour for 3 hours, how many miles does it travel?", "math"),
    ("Summarize the following article in three sentences:\n\n" + ARTICLE, "summarization"),
    (ARTICLE + "\n\nTL;DR?", "summarization"),
    ("Give me the key points of this meeting transcript: we agreed to ship on Friday.", "summarization"),
    ('Translate "good morning my friend" into Spanish', "translation"),
    ("How do you say 'thank you' in Japanese?", "translation"),
    ("Extract all email addresses from this text: write to ann@example.com or bob@example.org", "extraction"),
    ("List all the dates mentioned in the following email and return them as JSON.", "extraction"),
    (
        "Classify the sentiment of this review as positive, negative or neutral: the battery died in a day.",
        "classification",
    ),
    ("Is this spam? WINNER! Click here to claim your prize", "classification"),
    ("Which category does this support ticket belong to: billing, shipping or returns?", "classification"),
    ("Write a haiku about autumn leaves", "creative"),
    ("Tell me a short story about a dragon who loves tea", "creative"),
    ("Come up with a catchy slogan for a bakery", "creative"),
    ("Explain why the sky is blue, step by step", "reasoning"),
    ("Should I use PostgreSQL or MongoDB for a small analytics app? Compare the trade-offs.", "reasoning"),
    ("All cats are mammals and some mammals fly. Can we deduce that some cats fly?", "reasoning"),
    ("What is the capital of France?", "question"),
    ("Who wrote Pride and Prejudice?", "question"),
    ("Why is the sky blue?", "question"),
    ("Hello!", "chat"),
    ("How are you today?", "chat"),
    ("ok cool", "chat"),
]


@pytest.mark.parametrize(("prompt", "expected"), CASES)
def test_it_detects_the_task_type_of_the_last_user_message(prompt: str, expected: str) -> None:
    assert detect_task_type([{"role": "user", "content": prompt}]) == expected


def test_it_reads_content_part_lists() -> None:
    messages = [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "Translate this sentence "},
                {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}},
                {"type": "text", "text": "into German: the dog is my friend"},
            ],
        }
    ]
    assert detect_task_type(messages) == "translation"


def test_it_looks_at_the_last_user_message_not_earlier_turns() -> None:
    messages = [
        {"role": "user", "content": "Write a Python function that sorts a list"},
        {"role": "assistant", "content": "```python\ndef sort_list(items):\n    return sorted(items)\n```"},
        {"role": "user", "content": "Thanks! Now write a poem about it."},
    ]
    assert detect_task_type(messages) == "creative"


def test_the_system_prompt_tips_an_ambiguous_message() -> None:
    bare = [{"role": "user", "content": "Le chat est sur la table."}]
    with_system = [{"role": "system", "content": "You are a translator into English."}, *bare]
    assert detect_task_type(bare) == "chat"
    assert detect_task_type(with_system) == "translation"


def test_a_pasted_document_does_not_outvote_the_instruction() -> None:
    document = "Our API returns a stack trace when the function fails. " * 40
    messages = [{"role": "user", "content": "Summarize this incident report:\n\n" + document}]
    assert detect_task_type(messages) == "summarization"


def test_confidence_is_between_zero_and_one_and_grows_with_signals() -> None:
    weak = detect_task_type_with_confidence([{"role": "user", "content": "Write a function"}])
    strong = detect_task_type_with_confidence(
        [{"role": "user", "content": "Write a Python function; here is my code:\n```python\nimport os\n```"}]
    )
    assert weak[0] == strong[0] == "code"
    assert 0.0 <= weak[1] < strong[1] <= 1.0
    for prompt, _expected in CASES:
        task, confidence = detect_task_type_with_confidence([{"role": "user", "content": prompt}])
        assert task in TASK_TYPES
        assert 0.0 <= confidence <= 1.0


def test_it_handles_empty_and_odd_input() -> None:
    assert detect_task_type([]) == "chat"
    assert detect_task_type([{"role": "user", "content": None}]) == "chat"
    assert detect_task_type([{"role": "assistant", "content": "What is 2 + 2?"}]) == "math"


def test_it_is_deterministic_and_cheap_enough_for_the_hot_path() -> None:
    messages = [{"role": "user", "content": "Summarize the following article:\n\n" + ARTICLE * 3}]
    first = detect_task_type_with_confidence(messages)
    # Not timed (CI machines vary); a thousand calls on a long prompt would hang here if it were slow.
    assert all(detect_task_type_with_confidence(messages) == first for _ in range(1000))

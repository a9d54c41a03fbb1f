from __future__ import annotations

import dataclasses
import io
import json
from pathlib import Path

import numpy as np
import pytest
from django.core.management import CommandError, call_command

from routerapp.optimizer import detect as detect_module
from routerapp.optimizer import features as features_module
from routerapp.optimizer.detect import ARTIFACT, TASK_TYPES, Classifier, Detection, detect
from routerapp.optimizer.training import evaluate, train

DEV_SET = Path(__file__).resolve().parent.parent / "data" / "detect_dev.jsonl"

ARTICLE = (
    "The city council met on Tuesday to discuss the new park. Residents raised concerns about parking, and one "
    "speaker asked why the code of conduct for vendors was still missing. The council agreed to commission a "
    "traffic study before the final vote. "
) * 8


def user(text: str) -> list[dict]:
    return [{"role": "user", "content": text}]


CLEAR_CASES = [
    ("Write a Python function that reverses a linked list", "code"),
    ("Fix this bug:\n```js\nconst x = items.map(i => i.id\n```", "code"),
    ("What is 12 * (3 + 4)?", "math"),
    ("Calculate the derivative of x^2 + 3x", "math"),
    ("Summarize the following article in three sentences:\n\n" + ARTICLE, "summarization"),
    ('Translate "good morning my friend" into Spanish', "summarization"),
    (
        "Classify the sentiment of this review as positive, negative or neutral: the battery died.",
        "summarization",
    ),
    ("Write a haiku about autumn leaves", "creative"),
    ("Come up with a catchy slogan for a bakery", "creative"),
    ("All cats are mammals and some mammals fly. Can we deduce that some cats fly?", "reasoning"),
    ("Lena is taller than Omar and Omar is taller than Kit. Who is the shortest?", "reasoning"),
    ("What is the capital of France?", "qa"),
    ("How can I get better at public speaking?", "qa"),
]


def test_there_are_exactly_the_six_task_types() -> None:
    assert TASK_TYPES == ("code", "math", "reasoning", "creative", "summarization", "qa")


@pytest.mark.parametrize(("prompt", "expected"), CLEAR_CASES)
def test_it_detects_the_task_type_of_clear_prompts(prompt: str, expected: str) -> None:
    detection = detect(user(prompt))
    assert detection.task_type == expected
    assert 0.0 <= detection.confidence <= 1.0


def test_a_detection_is_a_frozen_value() -> None:
    detection = detect(user("Write a poem about the sea"))
    assert detection == Detection("creative", detection.confidence, detection.cluster)
    with pytest.raises(dataclasses.FrozenInstanceError):
        detection.task_type = "qa"  # type: ignore[misc]


def test_it_is_at_least_85_percent_right_on_the_dev_set_for_every_type() -> None:
    # tests/data/detect_dev.jsonl was written apart from the training data and is never trained on.
    matrix = evaluate.confusion(DEV_SET)
    accuracies = {truth: row[truth] / sum(row.values()) for truth, row in matrix.items()}
    assert all(sum(row.values()) >= 40 for row in matrix.values())
    assert sum(accuracies.values()) / len(accuracies) >= 0.90, accuracies
    assert min(accuracies.values()) >= 0.85, accuracies


def test_the_latest_user_turn_decides_not_earlier_turns() -> None:
    messages = [
        {"role": "user", "content": "Write a Python function that sorts a list"},
        {"role": "assistant", "content": "```python\ndef sort_list(items):\n    return sorted(items)\n```"},
        {"role": "user", "content": "Thanks! Now write a poem about autumn."},
    ]
    assert detect(messages).task_type == "creative"


def test_a_vague_follow_up_takes_its_type_from_the_turn_before() -> None:
    messages = [
        {"role": "user", "content": "Summarize this article in two sentences:\n\n" + ARTICLE},
        {"role": "assistant", "content": "The council discussed the park and ordered a traffic study."},
        {"role": "user", "content": "Make it shorter."},
    ]
    assert detect(messages).task_type == "summarization"


def test_the_system_prompt_is_context_for_a_bare_message() -> None:
    bare = user("Le chat est sur la table et il dort.")
    with_system = [
        {"role": "system", "content": "You are a translator. Translate everything into English."},
        *bare,
    ]
    assert detect(with_system).task_type == "summarization"
    assert detect(with_system) != detect(bare)


def test_a_pasted_document_does_not_outvote_the_instruction() -> None:
    report = (
        "At 09:12 the checkout service began timing out. Engineers found that a deploy had changed the connection "
        "pool size of the Python workers from 20 to 2. Requests queued, the load balancer marked instances "
        "unhealthy, and about 8% of orders failed for 40 minutes. The change was rolled back at 09:52. We will add "
        "a config check to CI and an alert on queue depth. "
    ) * 6
    assert detect(user("Summarize this incident report:\n\n" + report)).task_type == "summarization"
    assert detect(user(report + "\n\nTL;DR?")).task_type == "summarization"


def long_paste(size: int) -> str:
    # Varied text with the structure the features look at (a fence, code, arithmetic, options, line
    # breaks) spread over its whole length, ending in a question: nothing in it is uniform.
    pieces = [
        "Summarize the following log and tell me what failed.\n",
        "```python\ndef handler(event):\n    return event['id'] * 2 + 1\n```\n",
        "Options: (A) retry (B) roll back (C) page someone (D) wait.\n",
    ]
    i = 0
    while sum(map(len, pieces)) < size:
        pieces.append(
            f"line {i}: request {i * 7919 % 10007} took {i % 97} ms, 3 + {i} = {3 + i}; status ok\n"
        )
        i += 1
    question = "\n\nWhich of these requests failed, and why?"
    return "".join(pieces)[: size - len(question)] + question


def test_a_long_prompt_has_the_features_of_its_truncated_form() -> None:
    # The bound on detect()'s cost: features read the head and tail of the latest turn and a bounded
    # slice of context, so a 200,000-character prompt is classified from what its clip holds.
    head, tail = features_module.HEAD_CHARS, features_module.TAIL_CHARS
    prompt = long_paste(200_000)
    assert len(prompt) == 200_000
    clipped = prompt[:head] + prompt[-tail:]
    assert features_module.features(user(prompt)) == features_module.features(user(clipped))
    assert detect(user(prompt)) == detect(user(clipped))
    # The clip is not the whole story of a short prompt: a change anywhere in it changes the features.
    assert features_module.features(user(clipped)) != features_module.features(user(clipped[:-50]))


def test_the_fast_lookup_finds_exactly_the_ids_of_the_feature_strings() -> None:
    # detect() never spells features out; training only sees them spelled out. Both must agree on
    # every prompt, repeats included: dev prompts, long pastes, other scripts, digits and odd spacing.
    classifier = detect_module._classifier
    conversations = [messages for messages, _ in evaluate.load(DEV_SET)]
    conversations += [user(long_paste(n)) for n in (900, 2_500, 40_000)]
    conversations += [
        user("Écris un poème sur la mer\u00a0; ça fait ١٢ vers.\u2028Merci !"),
        user("  \t SELECT   x_1,\x00 y FROM t WHERE a >= 10 -- 中文 ??? "),
        [{"role": "system", "content": "Be brief. 3 bullets"}, *user("Why?"), *user("Again, shorter")],
        user(""),
    ]
    for messages in conversations:
        fast = np.sort(classifier.ids(features_module.parts(messages)))
        spelled = np.sort(classifier.ids_of_features(features_module.features(messages)))
        assert fast.tolist() == spelled.tolist()
        assert fast.size > 0


@pytest.mark.parametrize(
    "text",
    ["", " ", "\t\n", "a", " a ", "A  B\tC\n", "x\x00y", "١٢٣ and 456", "\u00a0nbsp\u3000", "İstanbul 9"],
)
def test_the_fast_normal_form_is_the_plain_one(text: str) -> None:
    plain = features_module._DIGIT.sub("0", features_module._SPACE.sub(" ", text.lower())).replace("\x00", "")
    assert features_module._normal(text) == plain


def test_long_context_is_read_only_as_far_as_its_bound() -> None:
    system, previous, latest = long_paste(100_000), long_paste(150_000), long_paste(200_000)
    conversation = [
        {"role": "system", "content": system},
        *[{"role": role, "content": long_paste(50_000)} for role in ("user", "assistant") * 20],
        {"role": "user", "content": previous},
        {"role": "assistant", "content": long_paste(80_000)},
        {"role": "developer", "content": "Answer in French."},
        {"role": "user", "content": latest},
    ]
    truncated = [
        {"role": "system", "content": system[: features_module.SYSTEM_CHARS]},
        {"role": "user", "content": previous[: features_module.PREVIOUS_CHARS]},
        {"role": "user", "content": features_module.clip(latest)},
    ]
    assert len(features_module.clip(latest)) == features_module.HEAD_CHARS + features_module.TAIL_CHARS
    assert features_module.features(conversation) == features_module.features(truncated)
    # A short system prompt is joined with the next one, as before the bound.
    short = [{"role": "system", "content": "Be brief."}, {"role": "developer", "content": "Use French."}]
    assert features_module.features([*short, *user("Hi")]) == features_module.features(
        [{"role": "system", "content": "Be brief. Use French."}, *user("Hi")]
    )


def test_it_reads_content_part_lists() -> None:
    messages = [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "Write a Python function "},
                {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}},
                {"type": "text", "text": "that parses this CSV file and returns the rows."},
            ],
        }
    ]
    assert detect(messages).task_type == "code"


def test_it_answers_for_empty_and_odd_input() -> None:
    for messages in (
        [],
        user(""),
        [{"role": "user", "content": None}],
        [{"role": "assistant", "content": "2+2?"}],
    ):
        detection = detect(messages)
        assert detection.task_type in TASK_TYPES and 0.0 <= detection.confidence <= 1.0


def test_a_clear_prompt_gets_more_confidence_than_a_vague_one() -> None:
    clear = detect(user("Write a Python function that checks whether a number is prime, with unit tests."))
    vague = detect(user("ok, and the other one?"))
    assert clear.task_type == "code"
    assert clear.confidence > vague.confidence + 0.2


def test_the_model_is_loaded_once_per_process() -> None:
    # detect() uses the module's classifier, built at import; no file is read per call.
    classifier = detect_module._classifier
    detect(user("What is 2 + 2?"))
    assert detect_module._classifier is classifier


def test_the_shipped_artifact_fits_the_size_budget() -> None:
    assert ARTIFACT.stat().st_size <= 25 * 1024 * 1024
    assert Classifier(ARTIFACT).labels == TASK_TYPES


def test_the_training_script_writes_a_model_that_inference_loads(tmp_path: Path, monkeypatch) -> None:
    # A small corpus keeps it quick; `make train-classifier` runs the same code on the full one.
    from routerapp.optimizer.training import corpus

    build = corpus.build
    monkeypatch.setattr(corpus, "build", lambda seed: build(seed, per_type=60))
    output = tmp_path / "detector.npz"
    summary = train.train(output)
    assert summary["features"] > 1000 and output.stat().st_size == summary["bytes"]
    small = Classifier(output)
    assert small.detect(user("Write a haiku about the sea")).task_type == "creative"
    assert small.detect(user("What is 17 * 23?")).task_type == "math"


def classify(stdin: str, monkeypatch, *args: str) -> tuple[list[dict], str]:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    out, err = io.StringIO(), io.StringIO()
    call_command("classify", *(args or ("-",)), stdout=out, stderr=err)
    return [json.loads(line) for line in out.getvalue().splitlines()], err.getvalue()


def test_classify_adds_task_type_and_confidence_to_each_line_in_order(monkeypatch, tmp_path: Path) -> None:
    lines = [
        {"id": 1, "prompt": "Write a sonnet about the moon"},
        {"id": 2, "messages": [{"role": "system", "content": "Be brief."}, *user("What is 45 * 12?")]},
    ]
    path = tmp_path / "prompts.jsonl"
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n\n")
    rows, _ = classify("", monkeypatch, str(path))
    assert [r["id"] for r in rows] == [1, 2]
    assert [r["task_type"] for r in rows] == ["creative", "math"]
    assert rows[1]["messages"] == lines[1]["messages"]
    assert all(0.0 <= r["confidence"] <= 1.0 for r in rows)
    from_stdin, _ = classify(path.read_text(), monkeypatch)
    assert from_stdin == rows


def test_classify_reports_bad_lines_by_number_and_fails(monkeypatch) -> None:
    stdin = '{"prompt": "Write a haiku"}\nnot json\n{"text": "no prompt"}\n{"prompt": "What is 2+2?"}\n'
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(CommandError, match="2 line"):
        call_command("classify", "-", stdout=out, stderr=err)
    assert [json.loads(line)["prompt"] for line in out.getvalue().splitlines()] == [
        "Write a haiku",
        "What is 2+2?",
    ]
    assert "-:2:" in err.getvalue() and "-:3: expected a 'prompt'" in err.getvalue()


def test_classify_names_a_missing_file() -> None:
    with pytest.raises(CommandError, match="missing.jsonl"):
        call_command("classify", "missing.jsonl", stdout=io.StringIO(), stderr=io.StringIO())

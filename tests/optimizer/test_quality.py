"""The shared quality estimate: each problem it names, found on answers that have it and only those."""

from __future__ import annotations

from routerapp.optimizer.quality import assess, code_blocks, final_number, language_of


def ask(text: str) -> list[dict]:
    return [{"role": "user", "content": text}]


def test_a_clean_answer_scores_one():
    result = assess("qa", ask("What is the capital of France?"), "The capital of France is Paris.", "stop")
    assert result.score == 1.0 and result.problems == ()


def test_empty_answers_score_zero():
    assert assess("qa", ask("hi"), "  \n", "stop").problems == ("empty",)
    assert assess("qa", ask("hi"), "", None).score == 0.0


def test_refusals_are_found_at_the_start_and_in_short_answers():
    for text in (
        "I'm sorry, but I can't help with that request.",
        "I cannot assist with this.",
        "As an AI language model, I cannot browse the web.",
        "Unfortunately I can't help with that.",
    ):
        assert "refusal" in assess("qa", ask("do it"), text, "stop").problems, text
    assert (
        "refusal" not in assess("qa", ask("why?"), "Sorry for the delay: the answer is 4.", "stop").problems
    )


def test_a_length_cut_answer_is_truncated():
    result = assess("creative", ask("Write a poem"), "Roses are red, violets", "length")
    assert result.problems == ("truncated",) and result.score < 0.5


def test_python_code_must_parse_and_be_finished():
    prompt = ask("Write a Python function that reverses a list")
    good = "```python\ndef rev(xs):\n    return xs[::-1]\n```"
    broken = "```python\ndef rev(xs)\n    return xs[::-1]\n```"
    unfinished = "```python\ndef rev(xs):\n    # TODO: reverse\n    pass\n```"
    assert assess("code", prompt, good, "stop").problems == ()
    assert assess("code", prompt, broken, "stop").problems == ("code_does_not_parse",)
    assert assess("code", prompt, unfinished, "stop").problems == ("unfinished_code",)
    assert assess("code", prompt, "You could slice it backwards.", "stop").problems == ("no_code_block",)


def test_code_in_a_language_we_cannot_parse_is_not_judged_by_python_rules():
    prompt = ask("Write a JavaScript function that reverses an array")
    js = "```javascript\nfunction rev(xs) { return xs.slice().reverse(); }\n```"
    assert assess("code", prompt, js, "stop").problems == ()


def test_math_needs_a_final_number():
    prompt = ask("A farmer has 12 cows and buys 7 more. How many cows?")
    assert assess("math", prompt, "He has 12 + 7 = 19 cows.", "stop").problems == ()
    assert assess("math", prompt, "Add the two amounts together.", "stop").problems == ("no_final_number",)


def test_final_number_prefers_the_stated_answer():
    assert final_number("First 3 + 4 = 7, then times 2, so the answer is 14.") == 14
    assert final_number("The total is $1,250.50 in all") == 1250.5
    assert final_number("#### 42") == 42
    assert final_number("no digits here") is None


SOURCE = (
    "The city council met on Tuesday to discuss the new budget for public transport. Members argued "
    "about the cost of extending the tram line to the northern districts, which would serve forty "
    "thousand residents. After three hours the council voted to fund a feasibility study first."
)


def test_summaries_must_be_shorter_and_drawn_from_the_source():
    prompt = ask(f"Summarize the following text:\n\n{SOURCE}")
    good = "The council voted to fund a feasibility study before extending the tram line north."
    off = "Bananas ripen quickly when stored beside apples in warm kitchens."
    assert assess("summarization", prompt, good, "stop").problems == ()
    assert "off_source" in assess("summarization", prompt, off, "stop").problems
    assert "not_shorter_than_source" in assess("summarization", prompt, SOURCE + " Indeed.", "stop").problems


def test_an_answer_in_another_language_is_flagged():
    prompt = ask("Can you explain in a few sentences what the weather is like in the spring?")
    french = "Au printemps, le temps est doux et il pleut souvent, mais les journées sont plus longues."
    assert "wrong_language" in assess("qa", prompt, french, "stop").problems
    english = "In the spring the weather is mild, it rains often and the days are getting longer."
    assert assess("qa", prompt, english, "stop").problems == ()


def test_a_translation_is_expected_in_the_target_language():
    prompt = ask("Translate into French: the days are longer and it is warm in the spring")
    french = "Les journées sont plus longues et il fait chaud au printemps, c'est la saison."
    assert "wrong_language" not in assess("qa", prompt, french, "stop").problems
    assert language_of(french) == "fr"


def test_code_blocks_are_listed_with_their_language():
    assert code_blocks("text\n```Python\nx = 1\n```\nmore\n```\ny\n```") == [("python", "x = 1"), ("", "y")]

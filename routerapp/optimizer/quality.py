"""A cheap, black-box estimate of how usable an answer is, from the answer alone.

`assess()` looks for the failures anyone can check without knowing the right answer: nothing said,
a refusal, a cut-off answer (`finish_reason: length`), code that does not parse in a language we
can parse (Python, through `ast`), unfinished code (a `pass`/TODO body), a math answer without a
final number, a summary that is not shorter than its source or does not draw on it, an answer in
another language than the one asked for. Each problem found multiplies the score by its penalty
(below), so an answer with no problem scores 1.0 and an empty one 0.0.

Who relies on it: ensembling filters and weighs members' answers with it, and the learned-routing
engineer extends it (judge scoring, feedback) behind the same signature. Pure functions, no I/O:
it runs on the hot path.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from typing import Any

from routerapp.providers.base import message_text

# Score multiplier per problem. Refusals and empty answers are as good as nothing; the others leave
# an answer that may still carry something useful.
PENALTIES = {
    "empty": 0.0,
    "refusal": 0.05,
    "truncated": 0.3,
    "code_does_not_parse": 0.2,
    "unfinished_code": 0.3,
    "no_code_block": 0.5,
    "no_final_number": 0.4,
    "not_shorter_than_source": 0.5,
    "off_source": 0.4,
    "wrong_language": 0.2,
}


@dataclass(frozen=True, slots=True)
class Assessment:
    score: float  # 0–1
    problems: tuple[str, ...] = ()


def assess(
    task_type: str, messages: list[dict[str, Any]], answer: str, finish_reason: str | None
) -> Assessment:
    """Score `answer` to the conversation `messages` of the given task type (detect.TASK_TYPES)."""
    if not answer or not answer.strip():
        return Assessment(0.0, ("empty",))
    problems: list[str] = []
    if is_refusal(answer):
        problems.append("refusal")
    if finish_reason == "length":
        problems.append("truncated")
    prompt = last_user_text(messages)
    if task_type == "code":
        problems.extend(_code_problems(prompt, answer))
    elif task_type == "math":
        if final_number(answer) is None:
            problems.append("no_final_number")
    elif task_type == "summarization":
        problems.extend(_summary_problems(prompt, answer))
    if task_type != "code" and _wrong_language(prompt, answer):
        problems.append("wrong_language")
    score = 1.0
    for problem in problems:
        score *= PENALTIES[problem]
    return Assessment(round(score, 4), tuple(problems))


def last_user_text(messages: list[dict[str, Any]]) -> str:
    for message in reversed(messages):
        if message.get("role") == "user":
            return message_text(message)
    return ""


# Refusals: an apology or an inability stated at the start, or a policy line anywhere short.
_REFUSAL = re.compile(
    r"^\W*(?:i'?m sorry,? but|sorry,? (?:but )?i (?:can(?:not|'t)|won'?t)|i (?:can(?:not|'t)|won'?t|am unable to|'m unable to|"
    r"am not able to|'m not able to) (?:help|assist|comply|provide|answer|do that|fulfil|fulfill|support)|"
    r"as an ai(?: language model)?,? i (?:can(?:not|'t)|am unable|don'?t))",
    re.IGNORECASE,
)
_REFUSAL_ANYWHERE = re.compile(
    r"\b(?:i can(?:not|'t) (?:help|assist) with (?:that|this)|against (?:my|our) (?:usage )?polic(?:y|ies))\b",
    re.IGNORECASE,
)


def is_refusal(answer: str) -> bool:
    text = answer.strip()
    return bool(_REFUSAL.match(text)) or (len(text) < 400 and bool(_REFUSAL_ANYWHERE.search(text)))


# The last number in the answer, preferring one after "answer is", "=", "**" or "\boxed{".
_NUMBER = r"-?\$?\d[\d,]*(?:\.\d+)?"
_FINAL_CUES = re.compile(
    r"(?:answer\s*(?:is|:)|result\s*(?:is|:)|total\s*(?:is|:)|=|\\boxed\{|####)\s*\**\s*(" + _NUMBER + r")",
    re.IGNORECASE,
)
_ANY_NUMBER = re.compile(_NUMBER)


def final_number(text: str) -> float | None:
    """The answer's final number (what a math answer commits to), or None if it states none."""
    cued = _FINAL_CUES.findall(text)
    found = cued[-1] if cued else None
    if found is None:
        numbers = _ANY_NUMBER.findall(text)
        found = numbers[-1] if numbers else None
    if found is None:
        return None
    try:
        return float(found.replace(",", "").replace("$", ""))
    except ValueError:
        return None


_FENCE = re.compile(r"```[ \t]*([\w+#.-]*)[^\n]*\n(.*?)```", re.DOTALL)
_PYTHON_ASK = re.compile(r"\bpython\b", re.IGNORECASE)
_OTHER_LANGUAGE_ASK = re.compile(
    r"\b(?:javascript|typescript|java|golang|rust|sql|bash|shell|c\+\+|c#|ruby|php|kotlin|swift)\b|\bin go\b",
    re.IGNORECASE,
)
_UNFINISHED = re.compile(r"\bTODO\b|^\s*pass\s*$|^\s*\.\.\.\s*$|NotImplementedError", re.MULTILINE)


def code_blocks(text: str) -> list[tuple[str, str]]:
    """(language tag, code) of each fenced block, in order; the tag is lowercased, '' if none."""
    return [(lang.lower(), code.strip("\n")) for lang, code in _FENCE.findall(text)]


def _code_problems(prompt: str, answer: str) -> list[str]:
    blocks = code_blocks(answer)
    if not blocks:
        # An answer that is all code without a fence is still code.
        stripped = answer.strip()
        if _parses_as_python(stripped) and "\n" in stripped:
            blocks = [("python", stripped)]
        else:
            return ["no_code_block"]
    problems = []
    python_asked = bool(_PYTHON_ASK.search(prompt)) and not _OTHER_LANGUAGE_ASK.search(prompt)
    for lang, code in blocks:
        if (lang in ("python", "py", "python3") or (not lang and python_asked)) and not _parses_as_python(
            code
        ):
            problems.append("code_does_not_parse")
            break
    if any(_UNFINISHED.search(code) for _, code in blocks):
        problems.append("unfinished_code")
    return problems


def _parses_as_python(code: str) -> bool:
    try:
        ast.parse(code)
    except (SyntaxError, ValueError):  # ValueError: null bytes
        return False
    return True


_WORDS = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?", re.UNICODE)


def _words(text: str) -> list[str]:
    return [w.lower() for w in _WORDS.findall(text)]


def _source(prompt: str) -> str:
    """The document a summarization prompt supplies: what follows a short lead-in."""
    for separator in ("\n\n", ":"):
        head, found, tail = prompt.partition(separator)
        if found and tail.strip() and len(head) < 300:
            return tail.strip()
    return prompt.strip()


def _summary_problems(prompt: str, answer: str) -> list[str]:
    source = _source(prompt)
    source_words, answer_words = _words(source), _words(answer)
    if len(source_words) < 20:
        return []  # too short a source to judge a summary of it
    problems = []
    if len(answer_words) >= len(source_words):
        problems.append("not_shorter_than_source")
    content = {w for w in answer_words if len(w) > 3}
    if content and len(content & set(source_words)) / len(content) < 0.2:
        problems.append("off_source")
    return problems


# Language: the share of a few hundred frequent function words. Enough to tell English, French,
# Spanish, German, Italian and Portuguese apart on a sentence or more; shorter texts are not judged.
_STOPWORDS = {  # space-separated, split below
    "en": "the and is are of to in that it for with as was on be this have not you what how",
    "fr": "le la les et est des une un du que qui dans pour pas sur avec ce il elle nous vous sont",
    "es": "el la los las y es de que en un una por con para no se del al lo como son está",
    "de": "der die das und ist nicht ein eine zu mit den von sich auf für dem des sind wie auch",
    "it": "il lo la gli le e è di che un una per con non sono del della nel come anche",
    "pt": "o a os as e é de que em um uma para com não do da no na por são como",
}
_STOPSETS = {lang: frozenset(words.split()) for lang, words in _STOPWORDS.items()}
_LANGUAGE_NAMES = {
    "english": "en",
    "french": "fr",
    "spanish": "es",
    "german": "de",
    "italian": "it",
    "portuguese": "pt",
}
_TARGET = re.compile(
    r"\b(?:in|into|to)\s+(english|french|spanish|german|italian|portuguese)\b", re.IGNORECASE
)


def language_of(text: str) -> str | None:
    """The most likely of a few languages, or None when the text is too short or unclear."""
    words = _words(text)
    if len(words) < 6:
        return None
    counts = {lang: sum(w in stops for w in words) for lang, stops in _STOPSETS.items()}
    best = max(counts, key=counts.__getitem__)
    ranked = sorted(counts.values(), reverse=True)
    if ranked[0] < 2 or ranked[0] < 1.5 * ranked[1] or ranked[0] / len(words) < 0.08:
        return None
    return best


def _wrong_language(prompt: str, answer: str) -> bool:
    """True when the answer is confidently in another language than the one asked for."""
    target = _TARGET.search(prompt)
    expected = _LANGUAGE_NAMES[target.group(1).lower()] if target else language_of(prompt)
    if expected is None:
        return False
    got = language_of(_FENCE.sub(" ", answer))
    return got is not None and got != expected

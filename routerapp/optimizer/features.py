"""The features the task-type classifier reads: what `detect` computes and `training.train` fits on.

One function for both, so the shipped weights always see the same features they were trained on.
The latest user turn is what gets classified: its words (unigrams and bigrams), character 3-5-grams
and a few structural flags. Long prompts are read at their start and end, where the instruction
usually is, and only unigrams of the next few thousand characters, which bounds the cost of a
100 KB paste. The system prompt and the user turn before the latest are context, as features of
their own ("s:" and "p:"), so "Make it shorter." after a summary request stays a summary request.
"""

from __future__ import annotations

import re
from typing import Any

from routerapp.providers.base import message_text

# How much of a prompt is read. The instruction is usually at the start or the end of a long paste:
# words there count as unigrams and bigrams, character n-grams come from a smaller window at each end,
# and the next stretch of the middle adds unigrams of its own ("m:").
_HEAD, _TAIL = 600, 300
_CHAR_HEAD, _CHAR_TAIL = 240, 120
_MIDDLE = 1200
_SCAN = 2000  # how far the structural regexes look
_LINE = 200  # the longest first or last line read as a possible instruction
_SYSTEM_CHARS, _PREVIOUS_CHARS = 400, 300
_CHAR_SIZES = (3, 4, 5)

_SPACE = re.compile(r"\s+")
_DIGIT = re.compile(r"\d")
_WORD = re.compile(r"\w+|[^\w\s]{1,3}")
_ARITHMETIC = re.compile(r"\d\s*[-+*/^×÷=]\s*\(?\d")
_OPTIONS = re.compile(r"[\s(][A-Da-d][).:] ")
_CODE_LINE = re.compile(
    r"(?m)^\s*(?:def |class |import |from \S+ import|#include|function |const |let |var |public |fn |func |SELECT |return )"
)


def _normal(text: str) -> str:
    return _DIGIT.sub("0", _SPACE.sub(" ", text.lower())).replace("\x00", "")


def _words(prefix: str, text: str, bigrams: bool) -> list[str]:
    tokens = _WORD.findall(text)
    features = [prefix + t for t in tokens]
    if bigrams:
        features += [f"{prefix}{a} {b}" for a, b in zip(tokens, tokens[1:], strict=False)]
    return features


def _chars(text: str) -> list[str]:
    # Unprefixed (the hot loop makes no second string); words carry a prefix instead.
    padded = f" {text} "
    return [padded[i : i + size] for size in _CHAR_SIZES for i in range(len(padded) - size + 1)]


def _first_line(text: str) -> str:
    head = text[:_LINE].lstrip()
    end = min((i for i in (head.find("\n"), head.find(": ")) if i > 0), default=len(head))
    return head[:end]


def _last_line(text: str) -> str:
    tail = text[-_LINE:].rstrip()
    return tail[tail.rfind("\n") + 1 :]


def _length_bucket(n: int) -> str:
    return str(min(12, n.bit_length()))


def features(messages: list[dict[str, Any]]) -> list[str]:
    """The feature strings of a conversation; training and inference both use exactly this."""
    texts = [(m.get("role"), message_text(m)) for m in messages if isinstance(m, dict)]
    user_turns = [i for i, (role, _) in enumerate(texts) if role == "user"]
    latest = user_turns[-1] if user_turns else len(texts) - 1
    raw = texts[latest][1] if latest >= 0 else ""
    out: list[str] = []

    if len(raw) > _HEAD + _TAIL:
        focus = raw[:_HEAD] + " \n " + raw[-_TAIL:]
        middle = raw[_HEAD : _HEAD + _MIDDLE]
    else:
        focus, middle = raw, ""
    out += _words("w", _normal(focus), bigrams=True)
    if len(raw) > _CHAR_HEAD + _CHAR_TAIL:
        out += _chars(_normal(raw[:_CHAR_HEAD])) + _chars(_normal(raw[-_CHAR_TAIL:]))
    else:
        out += _chars(_normal(raw))
    if middle:
        out += _words("m:", _normal(middle), bigrams=False)
        # In a long paste, its first and last lines are most likely the instruction: they get features
        # of their own, which the material in between cannot outvote.
        out += _words("i:", _normal(_first_line(raw)), bigrams=True)
        out += _words("e:", _normal(_last_line(raw)), bigrams=True)

    # Structure, read from the raw text (case and line breaks matter).
    out.append("#len" + _length_bucket(len(raw)))
    out.append("#lines" + _length_bucket(raw.count("\n")))
    sample = raw[:_SCAN]
    if "```" in sample:
        out.append("#fence")
    if _CODE_LINE.search(sample):
        out.append("#codeline")
    if _ARITHMETIC.search(sample):
        out.append("#arith")
    if (first := _OPTIONS.search(sample)) and _OPTIONS.search(sample, first.end()):
        out.append("#options")
    if raw.rstrip().endswith("?"):
        out.append("#question")

    system = " ".join(t for role, t in texts if role in ("system", "developer"))
    if system:
        out += _words("s:", _normal(system[:_SYSTEM_CHARS]), bigrams=False)
    previous = [i for i in user_turns if i < latest]
    if previous:
        out.append("#turns")
        out += _words("p:", _normal(texts[previous[-1]][1][:_PREVIOUS_CHARS]), bigrams=False)
    return out

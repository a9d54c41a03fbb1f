"""The features the task-type classifier reads: what `detect` computes and `training.train` fits on.

One function for both, so the shipped weights always see the same features they were trained on.
The latest user turn is what gets classified: its words (unigrams and bigrams), character 3-5-grams
and a few structural flags. The system prompt and the user turn before the latest are context, as
features of their own ("s:" and "p:"), so "Make it shorter." after a summary request stays a summary
request.

The cost per prompt is bounded whatever its length, because route() calls this on every request:
the latest turn is read only through `clip` (its first HEAD_CHARS and last TAIL_CHARS characters,
where the instruction usually is), the system prompt through its first SYSTEM_CHARS and the turn
before through its first PREVIOUS_CHARS. A 200 KB paste costs what its 2,300-character clip costs,
and tests/optimizer/test_detect.py checks that the features of the two are the same.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
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
SYSTEM_CHARS, PREVIOUS_CHARS = 400, 300
CHAR_SIZES = (3, 4, 5)
# The prefixes of word features, one per window they come from (see parts()).
WORD_PREFIXES = ("w", "m:", "i:", "e:", "s:", "p:")
# Everything above reads within these two ends of the latest turn (the line windows included).
HEAD_CHARS = max(_HEAD + _MIDDLE, _SCAN, _CHAR_HEAD, _LINE)
TAIL_CHARS = max(_TAIL, _CHAR_TAIL, _LINE)

_SPACE = re.compile(r"\s+")
_DIGIT = re.compile(r"\d")
_WORD = re.compile(r"\w+|[^\w\s]{1,3}")
_ARITHMETIC = re.compile(r"\d\s*[-+*/^×÷=]\s*\(?\d")
_OPTIONS = re.compile(r"[\s(][A-Da-d][).:] ")
_CODE_LINE = re.compile(
    r"(?m)^\s*(?:def |class |import |from \S+ import|#include|function |const |let |var |public |fn |func |SELECT |return )"
)


# ASCII digits to 0 and NULs dropped, in one pass: for an ASCII text, what `_DIGIT.sub` and
# `.replace("\x00", "")` do, at a fifth of the cost.
_ASCII_DIGITS = str.maketrans({**dict.fromkeys("0123456789", "0"), "\x00": None})


def _normal(text: str) -> str:
    r"""Lower case, every run of whitespace one space, every digit 0, no NULs.

    Written for speed (route() calls it on every request) and tested equal to the plain form,
    `_DIGIT.sub("0", _SPACE.sub(" ", text.lower())).replace("\x00", "")`: str.split() splits on the
    same whitespace as re's \s, and only the ends need putting back.
    """
    low = text.lower()
    collapsed = " ".join(low.split())
    if collapsed:
        if low[0].isspace():
            collapsed = " " + collapsed
        if low[-1].isspace():
            collapsed += " "
    elif low:
        collapsed = " "
    if collapsed.isascii():
        return collapsed.translate(_ASCII_DIGITS)
    return _DIGIT.sub("0", collapsed).replace("\x00", "")


def _tokens(text: str) -> list[str]:
    return _WORD.findall(text)


def _expand_words(prefix: str, tokens: list[str], bigrams: bool) -> list[str]:
    features = [prefix + t for t in tokens]
    if bigrams:
        features += [f"{prefix}{a} {b}" for a, b in zip(tokens, tokens[1:], strict=False)]
    return features


def char_grams(text: str) -> list[str]:
    # Unprefixed; words carry a prefix instead.
    padded = f" {text} "
    return [padded[i : i + size] for size in CHAR_SIZES for i in range(len(padded) - size + 1)]


def _first_line(text: str) -> str:
    head = text[:_LINE].lstrip()
    end = min((i for i in (head.find("\n"), head.find(": ")) if i > 0), default=len(head))
    return head[:end]


def _last_line(text: str) -> str:
    tail = text[-_LINE:].rstrip()
    return tail[tail.rfind("\n") + 1 :]


def _length_bucket(n: int) -> str:
    # 12 buckets: everything from 2,048 up is one, so a clipped turn (2,300) keeps its bucket.
    return str(min(12, n.bit_length()))


def clip(text: str) -> str:
    """The part of a turn the features read: its first HEAD_CHARS and last TAIL_CHARS characters."""
    if len(text) <= HEAD_CHARS + TAIL_CHARS:
        return text
    return text[:HEAD_CHARS] + text[-TAIL_CHARS:]


def _system_text(messages: list[dict[str, Any]]) -> str:
    # The system (and developer) messages joined, as far as SYSTEM_CHARS: a long one is cut before
    # it is joined, so a huge system prompt costs no more than a short one.
    parts: list[str] = []
    size = 0
    for m in messages:
        if m.get("role") in ("system", "developer"):
            parts.append(message_text(m)[:SYSTEM_CHARS])
            size += len(parts[-1]) + 1
            if size > SYSTEM_CHARS:
                break
    return " ".join(parts)[:SYSTEM_CHARS]


@dataclass(slots=True)
class Parts:
    """What the features of a conversation are made of, before they are spelled out as strings.

    `words`: (prefix, tokens, with bigrams) per window; `chars`: the normalized texts whose character
    n-grams count; `flags`: whole features. `features()` spells them out for training; detect's
    Classifier looks them up without building the strings, and gets the same features.
    """

    words: list[tuple[str, list[str], bool]] = field(default_factory=list)
    chars: list[str] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)


def features(messages: list[dict[str, Any]]) -> list[str]:
    """The feature strings of a conversation; training uses exactly these."""
    p = parts(messages)
    out: list[str] = []
    for prefix, tokens, bigrams in p.words:
        out += _expand_words(prefix, tokens, bigrams)
    for text in p.chars:
        out += char_grams(text)
    return out + p.flags


def parts(messages: list[dict[str, Any]]) -> Parts:
    """The parts of a conversation's features (see Parts)."""
    messages = [m for m in messages if isinstance(m, dict)]
    user_turns = [i for i, m in enumerate(messages) if m.get("role") == "user"]
    latest = user_turns[-1] if user_turns else len(messages) - 1
    # Only the clip of the latest turn is read from here on (see the module docstring).
    raw = clip(message_text(messages[latest])) if latest >= 0 else ""
    out = Parts()
    words, flags = out.words, out.flags

    if len(raw) > _HEAD + _TAIL:
        focus = raw[:_HEAD] + " \n " + raw[-_TAIL:]
        middle = raw[_HEAD : _HEAD + _MIDDLE]
    else:
        focus, middle = raw, ""
    words.append(("w", _tokens(_normal(focus)), True))
    if len(raw) > _CHAR_HEAD + _CHAR_TAIL:
        out.chars += [_normal(raw[:_CHAR_HEAD]), _normal(raw[-_CHAR_TAIL:])]
    else:
        out.chars.append(_normal(raw))
    if middle:
        words.append(("m:", _tokens(_normal(middle)), False))
        # In a long paste, its first and last lines are most likely the instruction: they get features
        # of their own, which the material in between cannot outvote.
        words.append(("i:", _tokens(_normal(_first_line(raw))), True))
        words.append(("e:", _tokens(_normal(_last_line(raw))), True))

    # Structure, read from the raw text (case and line breaks matter).
    flags.append("#len" + _length_bucket(len(raw)))
    flags.append("#lines" + _length_bucket(raw.count("\n")))
    sample = raw[:_SCAN]
    if "```" in sample:
        flags.append("#fence")
    if _CODE_LINE.search(sample):
        flags.append("#codeline")
    if _ARITHMETIC.search(sample):
        flags.append("#arith")
    if (first := _OPTIONS.search(sample)) and _OPTIONS.search(sample, first.end()):
        flags.append("#options")
    if raw.rstrip().endswith("?"):
        flags.append("#question")

    if system := _system_text(messages):
        words.append(("s:", _tokens(_normal(system)), False))
    previous = [i for i in user_turns if i < latest]
    if previous:
        flags.append("#turns")
        text = message_text(messages[previous[-1]])[:PREVIOUS_CHARS]
        words.append(("p:", _tokens(_normal(text)), False))
    return out

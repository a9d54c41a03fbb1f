"""Guess what kind of task a chat request is, from cheap lexical signals.

The router calls this on the hot path (quality-aware routing, the optimizer, the simulated provider),
so the text is lowercased and split into words once; keyword signals are then set and substring
lookups, and only a few structural signals are (precompiled, case-sensitive) regexes. Tens of
microseconds for a chat message, well under a millisecond for a long document; no model, no I/O, and
the same answer for the same messages every time.

Signals, per task type, each with a weight that counts once however often it matches:

- the user's *instruction words* ("translate", "summarize", "classify", "write a function", ...)
  weigh most;
- *structural* hints: fenced code or code-looking lines (code), arithmetic between numbers (math),
  a long pasted document (summarization), a question mark or a leading wh-word (question), a greeting
  (chat);
- the *system prompt* counts at half weight ("You are a translator" makes a bare French sentence a
  translation task);
- an instruction lead-in ("Summarize the following article:") or closing line ("...\n\nTL;DR?") that
  carries signals of its own counts fully and the material around it at a quarter, so an article that
  happens to mention "code" does not turn a summary request into a coding task. Without one, a long message
  counts fully only in its first and last few hundred characters (where people put the instruction)
  and at a quarter in between. Only the first few thousand characters of the material are read, which
  bounds the cost of a 100 KB prompt.

The specific types (code ... reasoning) compete; the best one wins if it scores at least
`_SPECIFIC_THRESHOLD`. Otherwise the request is a plain `question` when it is phrased as one and
`chat` when it is not. Ties go to the earlier type in TASK_TYPES.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from routerapp.providers.base import message_text

TASK_TYPES = (
    "code",
    "math",
    "summarization",
    "translation",
    "extraction",
    "classification",
    "creative",
    "reasoning",
    "question",
    "chat",
)
_SPECIFIC = TASK_TYPES[:8]
_SPECIFIC_THRESHOLD = 1.5

# Weights of where a signal matched, and how much of each place is read.
_FOCUS, _MIDDLE, _SYSTEM = 1.0, 0.25, 0.5
_FOCUS_CHARS, _MIDDLE_CHARS, _SYSTEM_CHARS = 300, 4000, 2000
# An instruction before the first colon or blank line, or after the last blank line, if that short.
_LEAD_IN = re.compile(r":|\n[ \t]*\n")
_EDGE_CHARS = 200
_LONG_DOCUMENT_CHARS = 1200
_LONG_DOCUMENT_BONUS = 0.75

_TOKEN = re.compile(r"[a-z0-9][a-z0-9'+#-]*")


@dataclass(slots=True, frozen=True)
class _View:
    """One piece of text prepared once for every signal."""

    text: str  # as written: code-looking lines are case-sensitive
    lower: str
    words: frozenset[str]
    padded: str  # " word word ... ": a phrase matches on word boundaries as " phrase "


def _view(text: str) -> _View:
    lower = text.lower()
    tokens = _TOKEN.findall(lower)
    return _View(text, lower, frozenset(tokens), " " + " ".join(tokens) + " ")


_Matcher = Callable[[_View], bool]


def _terms(spec: str) -> _Matcher:
    """Match any of the `|`-separated words or phrases."""
    terms = spec.split("|")
    words = frozenset(t for t in terms if " " not in t)
    # A phrase is only looked for (a substring scan) when its last word is among the view's words (a set lookup).
    phrases = tuple((t.rsplit(" ", 1)[1], f" {t} ") for t in terms if " " in t)
    return lambda view: (
        not words.isdisjoint(view.words)
        or any(last in view.words and phrase in view.padded for last, phrase in phrases)
    )


def _regex(
    pattern: str, *, lower: bool = False, anchored: bool = False, hints: tuple[str, ...] = ()
) -> _Matcher:
    """Match a regex; when `hints` are given, only texts containing one of them are searched."""
    compiled = re.compile(pattern)
    find = compiled.match if anchored else compiled.search

    def match(view: _View) -> bool:
        text = view.lower if lower else view.text
        return (not hints or any(hint in text for hint in hints)) and find(text) is not None

    return match


def _either(*matchers: _Matcher) -> _Matcher:
    return lambda view: any(m(view) for m in matchers)


def _combine(*parts: str) -> str:
    """A `_terms` spec of every phrase made of one alternative per part ("a|b", "c" -> "a c|b c")."""
    phrases = [""]
    for part in parts:
        phrases = [f"{phrase} {alternative}".strip() for phrase in phrases for alternative in part.split("|")]
    return "|".join(phrases)


_LANGUAGES = (
    "english|french|spanish|german|italian|portuguese|dutch|chinese|mandarin|japanese|korean|russian|arabic|"
    "hindi|turkish|polish|swedish|greek|hebrew"
)
_DOCUMENTS = "text|document|email|passage|paragraph|invoice|resume|receipt|article"

# Each signal is (weight, matcher) and counts once however often it matches: repetition in a long pasted
# document says little about what the user asks for.
_SIGNALS: dict[str, tuple[tuple[float, _Matcher], ...]] = {
    "code": (
        (3.0, lambda view: "```" in view.text),
        (
            2.0,
            _terms(
                "python|javascript|typescript|java|golang|rust|kotlin|swift|ruby|php|bash|powershell|sql|html|css|"
                "regex|regexp|django|react|numpy|pandas|c++|c#"
            ),
        ),
        (
            3.0,
            _regex(
                r"(?:write|implement|create|fix|debug|refactor|optimi[sz]e)\b[^.?!\n]{0,40}?"
                r"\b(?:functions?|class|methods?|scripts?|programs?|code|module|endpoints?|query|regex|tests?)\b",
                lower=True,
            ),
        ),
        (
            1.5,
            _terms(
                "code|function|compiler|compile|compiled|stacktrace|stack trace|traceback|exception|syntax error|"
                "bug|segfault|null pointer|api|unit test|unit tests|algorithm|recursion|variable"
            ),
        ),
        # Code-looking lines; case-sensitive so prose ("Select the best...") does not match.
        (
            2.5,
            _regex(
                r"(?m)^[ \t]*(?:def |class \w+|import \w|from \S+ import|#include|function\s*\w*\(|const \w+ =|"
                r"let \w+ =|public |fn \w|func \w|SELECT\b)|console\.log|\w\(\)\s*[;{]",
                hints=(
                    "def ",
                    "class ",
                    "import ",
                    "#include",
                    "function",
                    "const ",
                    "let ",
                    "public ",
                    "fn ",
                    "func ",
                    "SELECT",
                    "console.log",
                    "()",
                ),
            ),
        ),
    ),
    "math": (
        # Arithmetic between numbers; "-" needs spaces so dates and phone numbers do not count.
        (2.5, _regex(r"\d\s*(?:[+*/^×÷]|\*\*)\s*\(?-?\d|\d\s+-\s+\(?\d|\d\s*%\s*of\s+\d")),
        (
            3.0,
            _regex(
                r"\d\s*(?:plus|minus|times|multiplied by|divided by)\s*\d",
                lower=True,
                hints=("plus", "minus", "times", "multiplied", "divided"),
            ),
        ),
        (
            2.0,
            _terms(
                "calculate|compute|solve|equation|equations|integral|derivative|differentiate|arithmetic|algebra|"
                "geometry|probability|percent|percentage|square root|factorial|sum of|product of|average of|"
                "how many|how much|simplify|evaluate"
            ),
        ),
        (
            1.0,
            _either(
                _terms("theorem|lemma|modulo|prime number|prime numbers|fraction|fractions"),
                _regex(r"\b[a-z]\s*=\s*\d|\b[a-z]\^2", hints=("=", "^")),
            ),
        ),
    ),
    "summarization": (
        (
            3.0,
            _either(
                _terms(
                    "summarize|summarise|summarized|summarizing|summarising|summary|summaries|tldr|condense|recap|"
                    "synopsis|gist|key points|key takeaways|main points|main ideas"
                ),
                lambda view: "tl;dr" in view.lower,
            ),
        ),
        (
            1.5,
            _regex(r"in (?:a few|one|two|three|\d+) (?:sentences?|bullet points?|words|lines)\b", lower=True),
        ),
        (1.0, _terms("shorten|boil down|brief overview|briefly")),
    ),
    "translation": (
        (3.0, _terms("translate|translated|translates|translating|translation|translations|translator")),
        (1.5, _terms(_combine("in|into|to", _LANGUAGES))),
        (2.0, _terms("how do you say|how do i say|how would you say")),
    ),
    "extraction": (
        (3.0, _terms("extract|pull out|parse out|list all|list every|find all|identify all|get all")),
        (
            1.5,
            _terms(
                "named entities|entities|email addresses|e-mail addresses|phone numbers|dates|fields|key-value|"
                "as json|in json|json object|json format|structured data"
            ),
        ),
        (1.0, _terms(_combine("from", "the|this", "|following|above", _DOCUMENTS))),
    ),
    "classification": (
        (
            3.0,
            _terms(
                "classify|classification|categorize|categorise|categorization|categorisation|label this|label the|"
                "label each|tag this|tag the|tag each|which category|what category|sentiment"
            ),
        ),
        (
            2.0,
            _terms(
                "positive or negative|positive negative|spam or not|spam or ham|is this spam|is it spam|"
                "one of the following|one of these|choose from|pick one"
            ),
        ),
        (1.0, _terms("category|categories|label|labels|intent|topic")),
    ),
    "creative": (
        (
            3.0,
            _terms(
                "poem|poems|poetry|haiku|haikus|limerick|sonnet|verse|verses|lyrics|song|songs|story|stories|"
                "fairy tale|fable|fiction|screenplay|slogan|slogans|tagline|taglines|joke|jokes|essay|speech|toast"
            ),
        ),
        (1.5, _terms("imagine|creative|invent|once upon a time|brainstorm|come up with|ideas for|names for")),
        (1.0, _terms("write a|write an|write some|write me")),
    ),
    "reasoning": (
        (
            2.0,
            _terms(
                "step by step|step-by-step|think through|think it through|reason about|explain why|prove|deduce|"
                "logic|logical|puzzle|riddle|paradox|trade-off|trade-offs|tradeoff|tradeoffs|pros and cons|compare|"
                "contrast|which is better|should i|what would happen"
            ),
        ),
        (1.5, lambda view: "if" in view.words and "then" in view.words),
        # "Why is the sky blue?" alone stays a question; with other signals it tips into reasoning.
        (1.0, _terms("why|because|therefore|assume|suppose|given that")),
    ),
    "question": (
        (
            1.0,
            _regex(
                r"\s*(?:what|who|whom|whose|when|where|which|how|why|is|are|was|were|does|do|did|can|could|"
                r"should|would|will)\b",
                lower=True,
                anchored=True,
            ),
        ),
        (1.0, lambda view: view.text.rstrip().endswith("?")),
        (
            1.0,
            _terms("what is|what are|who is|who was|tell me about|explain|define|definition of|meaning of"),
        ),
    ),
    "chat": (
        (
            1.5,
            _regex(
                r"\s*(?:hi|hello|hey|yo|hiya|good (?:morning|afternoon|evening)|greetings|thanks|thank you|"
                r"cheers|bye|goodbye)\b",
                lower=True,
                anchored=True,
            ),
        ),
        # Outweighs the question signals of "How are you?" (a leading wh-word and a question mark).
        (2.5, _terms("how are you|how's it going|what's up|nice to meet you|who are you|your name")),
    ),
}


def detect_task_type(messages: list[dict[str, Any]]) -> str:
    """Return one of TASK_TYPES for the conversation's last user message."""
    return detect_task_type_with_confidence(messages)[0]


def detect_task_type_with_confidence(messages: list[dict[str, Any]]) -> tuple[str, float]:
    """Return (task type, confidence in 0..1); confidence grows with signal strength and margin."""
    user, system = _texts(messages)
    scores = _scores(user, system)
    ranked = sorted(_SPECIFIC, key=lambda task: -scores[task])  # stable: ties keep TASK_TYPES order
    best, runner_up = scores[ranked[0]], scores[ranked[1]]
    if best >= _SPECIFIC_THRESHOLD:
        strength = 1.0 - math.exp(-best / 3.0)
        separation = 0.5 + 0.5 * (best - runner_up) / best
        return ranked[0], round(min(1.0, 0.15 + 0.85 * strength * separation), 3)
    # Weak specific signals make the fallback less certain too.
    doubt = 0.1 * best
    if scores["question"] > scores["chat"]:
        return "question", round(max(0.1, min(0.8, 0.3 + 0.15 * scores["question"]) - doubt), 3)
    if scores["chat"] > 0:
        return "chat", round(max(0.1, min(0.8, 0.4 + 0.15 * scores["chat"]) - doubt), 3)
    return "chat", round(max(0.05, 0.2 - doubt), 3)


def _texts(messages: list[dict[str, Any]]) -> tuple[str, str]:
    """The last user message (or the last message of any role) and the joined system prompts."""
    system = " ".join(message_text(m) for m in messages if m.get("role") in ("system", "developer"))
    for message in reversed(messages):
        if message.get("role") == "user":
            return message_text(message), system
    return (message_text(messages[-1]) if messages else ""), system


def _scores(user: str, system: str) -> dict[str, float]:
    regions = _regions(user)
    if system:
        regions.append((_view(system[:_SYSTEM_CHARS]), _SYSTEM))
    regions.sort(key=lambda region: -region[1])  # the first region that matches is the strongest
    scores = dict.fromkeys(TASK_TYPES, 0.0)
    for task, signals in _SIGNALS.items():
        for weight, matches in signals:
            scores[task] += weight * next((factor for view, factor in regions if matches(view)), 0.0)
    if len(user) > _LONG_DOCUMENT_CHARS:
        scores["summarization"] += _LONG_DOCUMENT_BONUS
    return scores


def _regions(user: str) -> list[tuple[_View, float]]:
    """The user's message in pieces, weighted by how likely each piece is the instruction."""
    # "Summarize the following article:\n\n<article>" or "<article>\n\nTL;DR?": the instruction counts
    # fully and the rest is material, however much the material talks about code.
    lead_in = _LEAD_IN.search(user, 0, _EDGE_CHARS)
    if lead_in is not None and _is_instruction(lead := _view(user[: lead_in.start()])):
        return [(lead, _FOCUS), (_view(user[lead_in.end() :][:_MIDDLE_CHARS]), _MIDDLE)]
    material, blank, trailer = user.rpartition("\n\n")
    if blank and material.strip() and len(trailer) <= _EDGE_CHARS and _is_instruction(last := _view(trailer)):
        return [(last, _FOCUS), (_view(material[-_MIDDLE_CHARS:]), _MIDDLE)]
    if len(user) <= 2 * _FOCUS_CHARS:
        return [(_view(user), _FOCUS)]
    return [
        (_view(user[:_FOCUS_CHARS] + "\n" + user[-_FOCUS_CHARS:]), _FOCUS),
        (_view(user[_FOCUS_CHARS : min(len(user) - _FOCUS_CHARS, _FOCUS_CHARS + _MIDDLE_CHARS)]), _MIDDLE),
    ]


def _is_instruction(view: _View) -> bool:
    return any(
        sum(weight for weight, matches in _SIGNALS[task] if matches(view)) >= _SPECIFIC_THRESHOLD
        for task in _SPECIFIC
    )

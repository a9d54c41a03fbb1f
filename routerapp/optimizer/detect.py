"""Guess what kind of task a chat request is, from cheap lexical signals.

The router calls this on the hot path (quality-aware routing, the optimizer, the simulated provider),
so it is a handful of precompiled regexes over at most a few kilobytes of text: tens of microseconds,
no model, no I/O, and the same answer for the same messages every time.

Signals, per task type, each a regex with a weight that counts once however often it matches:

- the user's *instruction words* ("translate", "summarize", "classify", "write a function", ...)
  weigh most;
- *structural* hints: fenced code or code-looking lines (code), arithmetic between numbers (math),
  a long pasted document (summarization), a question mark or a leading wh-word (question), a greeting
  (chat);
- the *system prompt* counts at half weight ("You are a translator" makes a bare French sentence a
  translation task);
- in a long message only the first and last few hundred characters count fully (that is where people
  put the instruction); the pasted document in between counts at a quarter, so an article that happens
  to mention "code" does not turn a summary request into a coding task.

The specific types (code ... reasoning) compete; the best one wins if it scores at least
`_SPECIFIC_THRESHOLD`. Otherwise the request is a plain `question` when it is phrased as one and
`chat` when it is not. Ties go to the earlier type in TASK_TYPES.
"""

from __future__ import annotations

import math
import re
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

# Weights of where a signal matched.
_FOCUS, _MIDDLE, _SYSTEM = 1.0, 0.25, 0.5
_FOCUS_CHARS = 300
_LONG_DOCUMENT_CHARS = 1200
_LONG_DOCUMENT_BONUS = 0.75


def _p(pattern: str, flags: int = re.IGNORECASE) -> re.Pattern[str]:
    return re.compile(pattern, flags)


_LANGUAGES = (
    "english|french|spanish|german|italian|portuguese|dutch|chinese|mandarin|japanese|korean|"
    "russian|arabic|hindi|turkish|polish|swedish|greek|hebrew"
)

_SIGNALS: dict[str, tuple[tuple[re.Pattern[str], float], ...]] = {
    "code": (
        (_p(r"```"), 3.0),
        (
            _p(
                r"\b(?:python|javascript|typescript|java|golang|rust|kotlin|swift|ruby|php|bash|powershell|sql|"
                r"html|css|regexp?|django|react|numpy|pandas)\b|(?<!\w)(?:c\+\+|c#)(?!\w)"
            ),
            2.0,
        ),
        (
            _p(
                r"\b(?:write|implement|create|fix|debug|refactor|optimi[sz]e)\b[^.?!\n]{0,40}?"
                r"\b(?:functions?|class|methods?|scripts?|programs?|code|module|endpoints?|query|regex|tests?)\b"
            ),
            3.0,
        ),
        (
            _p(
                r"\b(?:code|function|compiler?|compiled|stack ?trace|traceback|exception|syntax error|bug|"
                r"segfault|null pointer|api|unit tests?|algorithm|recursion|variable)\b"
            ),
            1.5,
        ),
        # Code-looking lines; case-sensitive so prose ("Select the best...") does not match.
        (
            _p(
                r"(?m)^\s*(?:def |class \w+|import \w|from \S+ import|#include|function\s*\w*\(|const \w+ =|"
                r"let \w+ =|public |fn \w|func \w|SELECT\b)|console\.log|\w\(\)\s*[;{]",
                0,
            ),
            2.5,
        ),
    ),
    "math": (
        # Arithmetic between numbers; "-" needs spaces so dates and phone numbers do not count.
        (_p(r"\d\s*(?:[+*/^×÷]|\*\*)\s*\(?-?\d|\d\s+-\s+\(?\d|\d\s*%\s*of\s+\d"), 2.5),
        (_p(r"\d\s*(?:plus|minus|times|multiplied by|divided by)\s*\d"), 3.0),
        (
            _p(
                r"\b(?:calculate|compute|solve|equation|integral|derivative|differentiate|arithmetic|algebra|"
                r"geometry|probability|percent(?:age)?|square root|factorial|sum of|product of|average of|"
                r"how many|how much|simplify|evaluate)\b"
            ),
            2.0,
        ),
        (_p(r"\b(?:theorem|lemma|modulo|prime numbers?|fractions?|[a-z]\s*=\s*\d|[a-z]\^2)\b"), 1.0),
    ),
    "summarization": (
        (
            _p(
                r"\b(?:summari[sz]e|summari[sz]ing|summary|tl;?dr|condense|recap|synopsis|gist|"
                r"key (?:points|takeaways)|main (?:points|ideas))\b"
            ),
            3.0,
        ),
        (_p(r"\bin (?:a few|one|two|three|\d+) (?:sentences?|bullet points?|words|lines)\b"), 1.5),
        (_p(r"\b(?:shorten|boil down|brief overview|briefly)\b"), 1.0),
    ),
    "translation": (
        (_p(r"\btranslat\w*"), 3.0),
        (_p(rf"\b(?:in|into|to) (?:{_LANGUAGES})\b"), 1.5),
        (_p(r"\bhow do (?:you|i|we) say\b"), 2.0),
    ),
    "extraction": (
        (_p(r"\b(?:extract|pull out|parse out|list (?:all|every)|find all|identify all|get all)\b"), 3.0),
        (
            _p(
                r"\b(?:named entities|entities|e-?mail addresses|phone numbers|dates|fields|key-value|"
                r"as json|in json|json (?:object|format)|structured data)\b"
            ),
            1.5,
        ),
        (
            _p(
                r"\bfrom (?:the|this) (?:following |above )?"
                r"(?:text|document|email|passage|paragraph|invoice|resume|receipt)\b"
            ),
            1.0,
        ),
    ),
    "classification": (
        (
            _p(
                r"\b(?:classify|classification|categori[sz]e|categori[sz]ation|label (?:this|the|each)|"
                r"tag (?:this|the|each)|which category|what category|sentiment)\b"
            ),
            3.0,
        ),
        (
            _p(
                r"\b(?:positive(?:,|\s+or)\s+negative|spam or (?:not|ham)|is (?:this|it) spam|"
                r"one of (?:the following|these)|choose from|pick one)\b"
            ),
            2.0,
        ),
        (_p(r"\b(?:categor(?:y|ies)|labels?|intent|topic)\b"), 1.0),
    ),
    "creative": (
        (
            _p(
                r"\b(?:poem|poetry|haiku|limerick|sonnet|verse|lyrics|song|story|fairy tale|fable|fiction|"
                r"screenplay|slogan|tagline|joke)s?\b"
            ),
            3.0,
        ),
        (_p(r"\b(?:imagine|creative|invent|once upon a time|brainstorm|come up with)\b"), 1.5),
        (_p(r"\bwrite (?:me )?(?:a|an|some)\b"), 1.0),
    ),
    "reasoning": (
        (
            _p(
                r"\b(?:step[- ]by[- ]step|think (?:it )?through|reason about|explain why|prove|deduce|"
                r"logic(?:al)?|puzzle|riddle|paradox|trade-?offs?|pros and cons|compare|contrast|"
                r"which is better|should i|what would happen)\b"
            ),
            2.0,
        ),
        (_p(r"\bif\b[^.?!]{3,80}\bthen\b"), 1.5),
        # "Why is the sky blue?" alone stays a question; with other signals it tips into reasoning.
        (_p(r"\b(?:why|because|therefore|assume|suppose|given that)\b"), 1.0),
    ),
    "question": (
        (
            _p(
                r"^\s*(?:what|who|whom|whose|when|where|which|how|why|is|are|was|were|does|do|did|can|could|"
                r"should|would|will)\b"
            ),
            1.0,
        ),
        (_p(r"\?\s*$"), 1.0),
        (
            _p(
                r"\b(?:what is|what are|who is|who was|tell me about|explain|define|definition of|meaning of)\b"
            ),
            1.0,
        ),
    ),
    "chat": (
        (
            _p(
                r"^\s*(?:hi|hello|hey|yo|hiya|good (?:morning|afternoon|evening)|greetings|thanks|thank you|"
                r"cheers|bye|goodbye)\b"
            ),
            1.5,
        ),
        # Outweighs the question signals of "How are you?" (a leading wh-word and a question mark).
        (_p(r"\b(?:how are you|how's it going|what's up|nice to meet you|who are you|your name)\b"), 2.5),
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
    if scores["question"] > 0 and scores["question"] >= scores["chat"]:
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
    if len(user) <= 2 * _FOCUS_CHARS:
        focus, middle = user, ""
    else:
        focus, middle = user[:_FOCUS_CHARS] + "\n" + user[-_FOCUS_CHARS:], user[_FOCUS_CHARS:-_FOCUS_CHARS]
    scores = dict.fromkeys(TASK_TYPES, 0.0)
    for task, signals in _SIGNALS.items():
        total = 0.0
        for pattern, weight in signals:
            if pattern.search(focus):
                total += weight * _FOCUS
            elif middle and pattern.search(middle):
                total += weight * _MIDDLE
            elif system and pattern.search(system):
                total += weight * _SYSTEM
        scores[task] = total
    if len(user) > _LONG_DOCUMENT_CHARS:
        scores["summarization"] += _LONG_DOCUMENT_BONUS
    return scores

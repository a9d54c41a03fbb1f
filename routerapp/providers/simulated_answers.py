"""What the simulated provider says: a plausible answer per task type, good or degraded.

Answers are built from the prompt (its key terms, the document it supplies, the arithmetic it asks for)
so they read like a model's and never echo the prompt. A degraded answer makes the kind of slip a weak
model makes: arithmetic off by a little, a truncated summary, a vaguer or wrong answer. All variation
comes from the caller's seeded RNG, so the same prompt gets the same words.
"""

from __future__ import annotations

import ast
import json
import operator
import random
import re


def answer(task: str, prompt: str, system: str, rng: random.Random, *, good: bool) -> str:
    """Answer the last user message `prompt` as a model that handles `task` (one of the six task
    types of routerapp.optimizer.detect) well (good) or poorly."""
    return _ANSWERS.get(task, _answer_qa)(prompt, system, rng, good)


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_STOP = _words(
    """a about above after again all also am an and any are as at be because been before being below between
    both but by can could did do does doing down during each few for from further had has have having he her here
    him his how i if in into is it its just me more most my no nor not now of off on once only or other our out
    over own please same she should so some such than that the their them then there these they this those through
    to too under until up very was we were what when where which while who whom why will with would you your tell
    give show make let explain describe need want like using use following text given write create implement
    step think answer question briefly simple many much"""
)
_CODE_WORDS = _words(
    "function functions code program script python javascript typescript java golang rust sql bash shell class "
    "method returns return takes small quick"
)
_CREATIVE_WORDS = _words(
    "poem poetry haiku limerick sonnet verse lyrics song story short tale fable joke slogan tagline creative"
)
_WORD = re.compile(r"[A-Za-z][A-Za-z'-]+")


def _terms(text: str, limit: int, skip: frozenset[str] = frozenset(), pad: tuple[str, ...] = ()) -> list[str]:
    """The first `limit` content words of the text, padded with `pad` when it has too few."""
    found: list[str] = []
    for raw in _WORD.findall(text):
        word = re.sub(r"[^a-z]", "", raw.lower())
        if len(word) > 2 and word not in _STOP and word not in skip and word not in found:
            found.append(word)
            if len(found) == limit:
                return found
    return found + list(pad[: limit - len(found)])


def _source(prompt: str) -> str:
    """The material an instruction is about: what follows a short lead-in and a blank line or colon."""
    for separator in ("\n\n", ":"):
        head, found, tail = prompt.partition(separator)
        if found and tail.strip() and len(head) < 200:
            return tail.strip()
    return prompt.strip()


_LANGUAGE = re.compile(
    r"\b(python|typescript|javascript|golang|rust|java|sql|bash|shell)\b|\b(?:in|a|using) (go)\b", re.I
)
# (good, degraded) per language; TypeScript accepts the JavaScript body as is.
_CODE = {
    "python": (
        'def {snake}({arg}):\n    """{doc}."""\n    result = []\n    for item in {arg}:\n'
        "        if item is not None:\n            result.append(item)\n    return result",
        "def {snake}({arg}):\n    # TODO: {doc}\n    pass",
    ),
    "javascript": (
        "function {camel}({arg}) {{\n  // {doc}\n  return {arg}.filter((item) => item != null);\n}}",
        "function {camel}({arg}) {{\n  // TODO: {doc}\n}}",
    ),
    "go": (
        "func {pascal}({arg} []any) []any {{\n\tout := make([]any, 0, len({arg}))\n\tfor _, item := range {arg} {{\n"
        "\t\tif item != nil {{\n\t\t\tout = append(out, item)\n\t\t}}\n\t}}\n\treturn out\n}}",
        "func {pascal}({arg} []any) []any {{\n\t// TODO: {doc}\n\treturn nil\n}}",
    ),
    "rust": (
        "fn {snake}<T: Clone>({arg}: &[Option<T>]) -> Vec<T> {{\n    // {doc}\n"
        "    {arg}.iter().flatten().cloned().collect()\n}}",
        'fn {snake}() {{\n    todo!("{doc}")\n}}',
    ),
    "java": (
        "static <T> List<T> {camel}(List<T> {arg}) {{\n    // {doc}\n"
        "    return {arg}.stream().filter(Objects::nonNull).toList();\n}}",
        "static void {camel}() {{\n    // TODO: {doc}\n}}",
    ),
    "sql": ("SELECT *\nFROM {snake}\nWHERE id IS NOT NULL\nORDER BY id;", "SELECT * FROM {snake};"),
    "bash": (
        '{snake}() {{\n  for item in "$@"; do\n    [ -n "$item" ] && echo "$item"\n  done\n}}',
        "{snake}() {{\n  : # TODO: {doc}\n}}",
    ),
}
_CODE_NOTES = (
    "`{name}` walks the input once and skips missing values, so it runs in linear time.",
    "Keeping the logic in one small function, `{name}`, makes it easy to test; adapt the condition to your data.",
    "`{name}` touches every item exactly once; swap the filter for your own rule as needed.",
)


def _answer_code(prompt: str, system: str, rng: random.Random, good: bool) -> str:
    match = _LANGUAGE.search(prompt) or _LANGUAGE.search(system)
    language = (match[1] or match[2]).lower() if match else "python"
    language = {"golang": "go", "shell": "bash"}.get(language, language)
    words = _terms(prompt, 3, _CODE_WORDS) or ["solve"]
    names = {
        "snake": "_".join(words),
        "camel": words[0] + "".join(w.capitalize() for w in words[1:]),
        "pascal": "".join(w.capitalize() for w in words),
    }
    template = _CODE["javascript" if language == "typescript" else language][0 if good else 1]
    arg, doc = rng.choice(("items", "values", "records")), " ".join(words).capitalize()
    code = template.format(arg=arg, doc=doc, **names)
    name = names[
        {"go": "pascal", "javascript": "camel", "typescript": "camel", "java": "camel"}.get(language, "snake")
    ]
    note = (
        rng.choice(_CODE_NOTES).format(name=name)
        if good
        else "This is a starting point; fill in the details."
    )
    return f"```{language}\n{code}\n```\n\n{note}"


_OPERATORS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv}
_SPOKEN_ARITHMETIC = (
    (re.compile(r"(\d+(?:\.\d+)?)\s*%\s*of\s+(\d+(?:\.\d+)?)", re.I), r"(\1 / 100 * \2)"),
    (re.compile(r"\s*\b(?:multiplied by|times)\b\s*", re.I), " * "),
    (re.compile(r"\s*\bdivided by\b\s*", re.I), " / "),
    (re.compile(r"\s*\bplus\b\s*", re.I), " + "),
    (re.compile(r"\s*\bminus\b\s*", re.I), " - "),
    (re.compile(r"\s*\bto the power of\b\s*", re.I), " ** "),
    (re.compile(r"(?<=\d)\s*[x×]\s*(?=\d)"), " * "),
    (re.compile(r"÷"), " / "),
    (re.compile(r"\^"), " ** "),
)
_EXPRESSION = re.compile(r"[-(]*\d[\d.\s+\-*/()]*")
_MAX_EXPRESSION_CHARS = 200


def _evaluate(node: ast.AST) -> int | float:
    """Arithmetic over numbers only: no names, calls or attributes, so nothing in a prompt can run."""
    if (
        isinstance(node, ast.Constant)
        and isinstance(node.value, int | float)
        and not isinstance(node.value, bool)
    ):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.UAdd | ast.USub):
        value = _evaluate(node.operand)
        return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.BinOp) and (type(node.op) in _OPERATORS or isinstance(node.op, ast.Pow)):
        left, right = _evaluate(node.left), _evaluate(node.right)
        if isinstance(node.op, ast.Pow):
            if abs(right) > 64 or abs(left) > 1e6:  # 9 ** 10 ** 9 would stall the event loop
                raise ValueError("exponent too large")
            result = left**right
        else:
            result = _OPERATORS[type(node.op)](left, right)
        if not isinstance(result, int | float) or abs(result) > 1e15:
            raise ValueError("result out of range")
        return result
    raise ValueError(f"not arithmetic: {type(node).__name__}")


def _arithmetic(prompt: str) -> tuple[str, int | float] | None:
    """The longest arithmetic expression in the prompt that evaluates, and its value."""
    text = prompt
    for pattern, replacement in _SPOKEN_ARITHMETIC:
        text = pattern.sub(replacement, text)
    best: tuple[str, int | float] | None = None
    for candidate in _EXPRESSION.findall(text):
        expression = candidate.strip().rstrip(".").strip()
        while expression.count(")") > expression.count("(") and expression.endswith(")"):
            expression = expression[:-1].rstrip()
        while expression.count("(") > expression.count(")") and expression.startswith("("):
            expression = expression[1:].lstrip()
        # Long chains would nest deeper than the recursion limit; nobody asks for those by hand.
        if len(expression) > _MAX_EXPRESSION_CHARS or not re.search(r"\d\s*[-+*/]", expression):
            continue
        try:
            value = _evaluate(ast.parse(expression, mode="eval").body)
        except (SyntaxError, ValueError, ZeroDivisionError, OverflowError):
            continue
        if best is None or len(expression) > len(best[0]):
            best = (" ".join(expression.split()), value)
    return best


def _number(value: int | float) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value) if isinstance(value, int) else f"{value:.6g}"


def _answer_math(prompt: str, system: str, rng: random.Random, good: bool) -> str:
    if found := _arithmetic(prompt):
        expression, value = found
        if expression.startswith("(") and expression.endswith(")") and expression.count("(") == 1:
            expression = expression[1:-1]
        result = _number(value if good else value + rng.choice((-2, -1, 1, 2)))  # a weak model's slip
        templates = (
            "{e} = {r}.",
            "Working it out: {e} = {r}, so the answer is {r}.",
            "The result is {r}, since {e} = {r}.",
        )
        return rng.choice(templates).format(e=expression, r=result)
    a, b = _terms(prompt, 2, pad=("the given quantity", "the unknown"))
    if not good:
        return f"Set up an equation with {a} and solve it; the answer follows from there."
    return (
        f"Let's work through it.\n1. Write down what is given: {a} and {b}.\n"
        f"2. Express the unknown in terms of {a} and isolate it.\n3. Substitute the values for {b} and simplify.\n"
        "Finally, check the result against the original conditions."
    )


_SENTENCE = re.compile(r"(?<=[.!?])\s+")
_SUMMARY_ASK = re.compile(
    r"\b(?:summari[sz]e|summary|tl;?dr|key points|main points|gist|in (?:a few|one|two|three|\d+) sentences?)\b",
    re.I,
)


def _shorten(sentence: str, words: int) -> str:
    text = " ".join(re.sub(r"\s*\([^)]*\)", "", sentence).split()[:words])
    return text if text.endswith((".", "!", "?")) else text.rstrip(",;:") + "."


def _answer_summary(prompt: str, system: str, rng: random.Random, good: bool) -> str:
    sentences = [
        s.strip() for s in _SENTENCE.split(_source(prompt)) if s.strip() and not _SUMMARY_ASK.search(s)
    ]
    if not sentences:
        return "There is no text to summarize yet: paste it after the instruction."
    lead = rng.choice(("In short: ", "Summary: ", "The gist: "))
    if not good:
        return lead + _shorten(sentences[0], 8).rstrip(".") + "..."
    return lead + " ".join(_shorten(s, 16) for s in sentences[: 2 if len(sentences) < 6 else 3])


# A deliberately small English → (French, Spanish, German) glossary: the simulator cannot translate.
_GLOSSARY = {
    "thank you": ("merci", "gracias", "danke"),
    "good morning": ("bonjour", "buenos días", "guten Morgen"),
    "good night": ("bonne nuit", "buenas noches", "gute Nacht"),
    "hello": ("bonjour", "hola", "hallo"),
    "goodbye": ("au revoir", "adiós", "auf Wiedersehen"),
    "thanks": ("merci", "gracias", "danke"),
    "yes": ("oui", "sí", "ja"),
    "no": ("non", "no", "nein"),
    "please": ("s'il vous plaît", "por favor", "bitte"),
    "the": ("le", "el", "der"),
    "and": ("et", "y", "und"),
    "i": ("je", "yo", "ich"),
    "you": ("vous", "tú", "du"),
    "is": ("est", "es", "ist"),
    "my": ("mon", "mi", "mein"),
    "good": ("bon", "bueno", "gut"),
    "friend": ("ami", "amigo", "Freund"),
    "love": ("amour", "amor", "Liebe"),
    "world": ("monde", "mundo", "Welt"),
    "day": ("jour", "día", "Tag"),
    "cat": ("chat", "gato", "Katze"),
    "dog": ("chien", "perro", "Hund"),
    "house": ("maison", "casa", "Haus"),
    "water": ("eau", "agua", "Wasser"),
    "book": ("livre", "libro", "Buch"),
    "where": ("où", "dónde", "wo"),
}
_GLOSS_COLUMNS = {"french": 0, "spanish": 1, "german": 2}
_TARGET = re.compile(
    r"\b(?:into|to|in)\s+(french|spanish|german|italian|portuguese|dutch|chinese|japanese|korean|russian|english)\b",
    re.I,
)
_QUOTED = re.compile(r"[\"“«]([^\"”»]{2,})[\"”»]")
_TRANSLATE_ASK = re.compile(
    r"\b(?:please|can you|could you|translate|the following|sentence|phrase|word)\b", re.I
)


def _answer_translation(prompt: str, system: str, rng: random.Random, good: bool) -> str:
    match = _TARGET.search(prompt) or _TARGET.search(system)
    language = match[1].lower() if match else "french"
    if quoted := _QUOTED.search(prompt):
        phrase = quoted[1].strip()
    else:
        head, colon, tail = prompt.partition(":")
        phrase = (
            tail.strip()
            if colon and tail.strip()
            else " ".join(_TRANSLATE_ASK.sub("", _TARGET.sub("", prompt)).split())
        )
    phrase = phrase.strip(" ?.!,") or "hello"
    if language not in _GLOSS_COLUMNS:
        return f'I can only offer a word-by-word gloss into French, Spanish or German, so "{phrase}" stays as it is.'
    column, words = _GLOSS_COLUMNS[language], re.findall(r"[\w']+", phrase.lower())
    out: list[str] = []
    unknown: list[str] = []
    glossed, i = 0, 0
    while i < len(words):
        step = 2 if i + 1 < len(words) and " ".join(words[i : i + 2]) in _GLOSSARY else 1
        entry = _GLOSSARY.get(" ".join(words[i : i + step]))
        if entry is not None and (good or glossed == 0):  # a degraded answer stops after the first word
            out.append(entry[column])
            glossed += 1
        else:
            out.append(" ".join(words[i : i + step]))
            unknown += [] if entry else words[i : i + step]
        i += step
    gloss = " ".join(out)
    if not good:
        return f'{language.capitalize()}: "{gloss}"'
    note = (
        f" Words outside my small dictionary are left as they are: {', '.join(unknown)}." if unknown else ""
    )
    return (
        f'Word-by-word gloss into {language.capitalize()}: "{gloss}". '
        f"Expect a literal rendering rather than a fluent translation.{note}"
    )


_FIELDS = (
    ("emails", re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]*\w")),
    ("urls", re.compile(r"https?://[^\s)>\"]+")),
    (
        "dates",
        re.compile(
            r"\b\d{4}-\d{2}-\d{2}\b|\b\d{1,2}/\d{1,2}/\d{2,4}\b|"
            r"\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.? \d{1,2}(?:, \d{4})?",
            re.I,
        ),
    ),
    ("names", re.compile(r"\b[A-Z][a-z]+(?: [A-Z][a-z]+)+\b")),
    (
        "amounts",
        re.compile(r"[$€£]\s?\d[\d,]*(?:\.\d+)?|\b\d[\d,]*(?:\.\d+)?\s?(?:usd|eur|dollars|euros)\b", re.I),
    ),
    ("phone_numbers", re.compile(r"\+?\d[\d\s().-]{7,}\d")),
)


def _answer_extraction(prompt: str, system: str, rng: random.Random, good: bool) -> str:
    source, found, seen = _source(prompt), {}, set()
    for field, pattern in _FIELDS:
        values = list(dict.fromkeys(v.strip() for v in pattern.findall(source) if v.strip() not in seen))[:10]
        seen.update(values)
        if values:
            found[field] = values
    found = found or {"key_terms": _terms(source, 5)}
    if not good:  # incomplete: the first field only, missing its last item
        field, values = next(iter(found.items()))
        found = {field: values[:-1] or values}
    return json.dumps(found, ensure_ascii=False, indent=2)


_CUES = {
    "positive": _words(
        "good great excellent love loved amazing happy wonderful fantastic best nice enjoyed perfect"
    ),
    "negative": _words(
        "bad terrible awful hate hated worst poor broken disappointed disappointing refund slow rude"
    ),
    "spam": _words("free winner won prize click offer urgent cash claim guaranteed"),
    "neutral": frozenset(),
    "not spam": frozenset(),
}
_LABEL_LIST = re.compile(
    r"\b(?:one of|categories|labels|options|classes|choose from)\b(?: the following)?\s*:?\s*([^\n?]+)", re.I
)


def _answer_classification(prompt: str, system: str, rng: random.Random, good: bool) -> str:
    listed = _LABEL_LIST.search(prompt) or _LABEL_LIST.search(system)
    labels = [label.strip(" .'\"") for label in re.split(r",|/|\||\bor\b", listed[1])] if listed else []
    labels = [label for label in labels if label and len(label.split()) <= 3][:8]
    if len(labels) < 2:
        labels = ["spam", "not spam"] if "spam" in prompt.lower() else ["positive", "negative", "neutral"]
    # The label list itself is no evidence for any label.
    words = set(re.findall(r"[a-z']+", (prompt.replace(listed[0], " ") if listed else prompt).lower()))

    def evidence(label: str) -> list[str]:
        return sorted(words & _CUES.get(label.lower(), frozenset(re.findall(r"[a-z']+", label.lower()))))

    best = max(labels, key=lambda label: len(evidence(label)))  # max keeps the first of equals
    if not evidence(best):
        best = next((label for label in labels if label.lower() in ("neutral", "not spam", "other")), best)
    if not good:
        return f"Label: {rng.choice([label for label in labels if label != best])}"
    cues = evidence(best)
    confidence = min(0.97, 0.6 + 0.1 * len(cues) + rng.uniform(-0.05, 0.05))
    reason = (
        f"the text mentions {', '.join(repr(w) for w in cues[:4])}" if cues else "nothing points elsewhere"
    )
    return f"Label: {best}\nConfidence: {confidence:.2f}\nReason: {reason}."


def _answer_creative(prompt: str, system: str, rng: random.Random, good: bool) -> str:
    lowered = prompt.lower()
    adjective = rng.choice(("quiet", "silver", "restless", "golden", "distant", "gentle"))
    a, b = _terms(prompt, 2, _CREATIVE_WORDS, pad=("lighthouse", "sea"))
    if re.search(r"poem|haiku|verse|sonnet|lyrics|song|limerick", lowered):
        if not good:
            return f"{a.capitalize()} is nice,\n{a} is {adjective}."
        if "haiku" in lowered:
            return f"{adjective.capitalize()} {a} waits,\n{b} drifting through the long light,\nthe evening listens."
        return (
            f"Beneath a {adjective} sky the {a} waits,\nit hums a song of {b} and light,\n"
            "it keeps the hours at the gates,\nand folds the day into the night."
        )
    if "joke" in lowered:
        return f"Why did the {a} bring a ladder? It heard {b} was upstairs." if good else f"A {a}. That's it."
    if re.search(r"slogan|tagline", lowered):
        return (
            f"{a.capitalize()}: {adjective} by design, {b} by nature."
            if good
            else f"{a.capitalize()}, but good."
        )
    if not good:
        return f"There was a {a}. Something happened with {b}. The end."
    return (
        f"Once upon a time, a {adjective} {a} lived at the edge of {b}. Every evening it wondered what lay beyond "
        f"the hills. One morning it set out, and by nightfall it had found a place where {a} and {b} belonged together."
    )


def _answer_reasoning(prompt: str, system: str, rng: random.Random, good: bool) -> str:
    a, b, c = _terms(prompt, 3, pad=("the premises", "the constraints", "the alternatives"))
    if not good:
        return f"Probably it comes down to {a}, but I am not sure."
    return (
        f"{rng.choice(('Let us reason step by step.', 'Let us think it through.', 'Step by step:'))}\n"
        f"1. Start with {a}: what is given, and what is only assumed?\n"
        f"2. Relate it to {b}; each premise narrows the possible answers.\n3. Check what remains against {c}.\n"
        f"Therefore the conclusion follows from how {a} and {b} interact: the option consistent with every premise."
    )


def _answer_question(prompt: str, system: str, rng: random.Random, good: bool) -> str:
    a, b, c = _terms(prompt, 3, pad=("this", "the context", "the details"))
    if not good:
        return f"It depends on a number of factors around {a}. Hard to say more without details."
    return rng.choice(
        (
            f"{a.capitalize()} is best understood through {b} and {c}. In short, {a} describes how {b} relates to "
            f"{c}, and most explanations start from that link. A concrete example of {a} usually makes it clear.",
            f"{a.capitalize()} comes down to {b}: once you see how {b} shapes {c}, the rest follows. "
            f"For more depth, look at how {a} behaves in edge cases.",
            f"The short answer: {a} depends mainly on {b}. The longer answer involves {c}, which explains why {a} "
            "varies between situations.",
        )
    )


def _answer_chat(prompt: str, system: str, rng: random.Random, good: bool) -> str:
    lowered = prompt.lower()
    if re.search(r"\bhow are you\b|\bhow's it going\b", lowered):
        reply = "I'm doing well, thanks for asking! What would you like to talk about?"
    elif re.match(r"\s*(?:hi|hello|hey|good (?:morning|afternoon|evening)|greetings)\b", lowered):
        reply = rng.choice(("Hello! How can I help you today?", "Hi there! What can I do for you?"))
    elif re.search(r"\b(?:thanks|thank you)\b", lowered):
        reply = "You're welcome! Let me know if there's anything else."
    else:
        topic = _terms(prompt, 1, pad=("that",))[0]
        reply = rng.choice(
            (
                f"Sure, tell me more about {topic}.",
                f"Happy to talk about {topic}. What would you like to know?",
            )
        )
    return reply if good else "OK."


# "summarization" covers every task on a supplied text and "qa" questions and small talk alike; the
# simulator tells the kinds apart by the words of the ask, to answer each plausibly.
_TEXT_TASKS = (
    (
        re.compile(r"\btranslat|\bhow (?:do|would) (?:you|i) say\b|\btraduc|\bübersetz", re.I),
        _answer_translation,
    ),
    (re.compile(r"\bextract|\bpull out\b|\blist (?:all|every)\b|\bfind all\b", re.I), _answer_extraction),
    (
        re.compile(r"\bclassif|\bcategor|\bsentiment\b|\bspam\b|\blabel\b|\bpositive or negative\b", re.I),
        _answer_classification,
    ),
)
_SMALL_TALK = re.compile(
    r"^\s*(?:hi|hello|hey|good (?:morning|afternoon|evening)|greetings|thanks|thank you)\b|\bhow are you\b|"
    r"\bhow's it going\b",
    re.I,
)


def _answer_text_task(prompt: str, system: str, rng: random.Random, good: bool) -> str:
    ask = prompt[:300] + " " + prompt[-200:] + " " + system[:300]
    for pattern, respond in _TEXT_TASKS:
        if pattern.search(ask):
            return respond(prompt, system, rng, good)
    return _answer_summary(prompt, system, rng, good)


def _answer_qa(prompt: str, system: str, rng: random.Random, good: bool) -> str:
    if _SMALL_TALK.search(prompt) or "?" not in prompt and len(prompt.split()) < 4:
        return _answer_chat(prompt, system, rng, good)
    return _answer_question(prompt, system, rng, good)


_ANSWERS = {
    "code": _answer_code,
    "math": _answer_math,
    "reasoning": _answer_reasoning,
    "creative": _answer_creative,
    "summarization": _answer_text_task,
    "qa": _answer_qa,
}

"""Fragments every task type's generator draws on: names, topics, pasted documents, code, framing.

All text here was written for this project. `fill` expands `{a|b|c}` alternatives and `{slot}` names
from a dict of choices, so one template line yields many differently worded prompts.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Sequence

Gen = Callable[[random.Random], str]

NAMES = [
    "Alice",
    "Bob",
    "Carlos",
    "Dana",
    "Emeka",
    "Fatima",
    "Greta",
    "Hiro",
    "Ines",
    "Jamal",
    "Kofi",
    "Lena",
    "Mateo",
    "Nadia",
    "Oskar",
    "Priya",
    "Quentin",
    "Rosa",
    "Sven",
    "Tariq",
    "Uma",
    "Victor",
    "Wen",
    "Ximena",
    "Yusuf",
    "Zoe",
    "Amara",
    "Bruno",
    "Chen",
    "Dmitri",
    "Elif",
    "Farid",
    "Gwen",
    "Hana",
    "Ivan",
    "Jana",
    "Kiran",
    "Liam",
    "Mei",
    "Nico",
    "Olga",
    "Pablo",
    "Rania",
    "Sami",
    "Tomas",
    "Valeria",
    "Wanda",
]
CITIES = [
    "Lisbon",
    "Nairobi",
    "Osaka",
    "Toronto",
    "Lima",
    "Krakow",
    "Hanoi",
    "Denver",
    "Porto",
    "Seville",
    "Tbilisi",
    "Accra",
    "Perth",
    "Quito",
    "Bergen",
    "Leeds",
    "Austin",
    "Dublin",
    "Cairo",
    "Mumbai",
    "Seoul",
    "Oslo",
    "Zurich",
    "Bogota",
]
ITEMS = (
    "apples",
    "pencils",
    "notebooks",
    "marbles",
    "cookies",
    "stickers",
    "tickets",
    "bottles of juice",
    "cupcakes",
    "books",
    "stamps",
    "shirts",
    "tomatoes",
    "eggs",
    "candles",
    "boxes of tea",
    "bags of rice",
    "chairs",
    "lamps",
    "plants",
    "oranges",
    "toy cars",
    "seashells",
    "muffins",
)
TOPICS = (
    "climate change",
    "the French Revolution",
    "black holes",
    "the immune system",
    "inflation",
    "machine learning",
    "photosynthesis",
    "the Roman Empire",
    "electric cars",
    "sleep",
    "coral reefs",
    "the stock market",
    "vaccines",
    "renewable energy",
    "the printing press",
    "plate tectonics",
    "social media",
    "remote work",
    "the Silk Road",
    "lighthouses",
    "honeybees",
    "urban gardening",
    "the water cycle",
    "jazz",
    "volcanoes",
    "antibiotics",
    "the moon landing",
    "cryptocurrency",
    "the Renaissance",
    "microplastics",
)
LANGUAGES = (
    "Python",
    "JavaScript",
    "TypeScript",
    "Java",
    "Go",
    "Rust",
    "C++",
    "C#",
    "Ruby",
    "PHP",
    "Kotlin",
    "Swift",
)

_ALT = re.compile(r"\{([^{}]*\|[^{}]*)\}")
_SLOT = re.compile(r"\{(\w+)\}")


def fill(rng: random.Random, template: str, **slots: Sequence[str] | str | Gen) -> str:
    """Expand `{a|b}` alternatives (nested innermost first) and `{slot}` names from `slots`."""
    while True:
        expanded = _ALT.sub(lambda m: rng.choice(m.group(1).split("|")), template)
        if expanded == template:
            break
        template = expanded

    def slot(match: re.Match[str]) -> str:
        value = slots.get(match.group(1))
        if value is None:
            return match.group(0)
        if callable(value):
            return value(rng)
        if isinstance(value, str):
            return value
        return rng.choice(value)

    return _SLOT.sub(slot, template)


def number(rng: random.Random, low: int = 2, high: int = 99) -> str:
    return str(rng.randint(low, high))


# Sentences for pasted documents, by genre. A document is a few of these in a row, slots filled.
_DOC_SENTENCES = {
    "news": (
        "The {city} city council voted {n} to {m} on {day} to approve a new budget for public transport.",
        "Officials said the plan would add {n} buses and extend night service on the busiest routes.",
        "Critics argued that the cost, estimated at {n} million dollars, would fall mostly on small businesses.",
        "A spokesperson for the mayor said construction could begin as early as next spring.",
        "Local residents have complained for years about overcrowded trains and long waits.",
        "The vote followed a heated public hearing that lasted more than {n} hours.",
        "Several council members said they would push for a review of the project after one year.",
        "Ridership fell sharply during the pandemic but has since recovered to about {n} percent of earlier levels.",
        "The regional transit agency welcomed the decision and promised to publish monthly progress reports.",
        "Opposition groups said they were considering a legal challenge.",
        "Heavy rain caused flooding in the northern districts of {city} on {day}, closing {n} schools.",
        "Emergency crews rescued several drivers whose cars were stranded on the ring road.",
        "Forecasters expect the storm to move east by the weekend.",
        "The company reported quarterly revenue of {n} million euros, up from a year earlier.",
        "Its chief executive, {name} {surname}, said demand for the new product line had exceeded expectations.",
        "Shares rose about {n} percent in early trading after the announcement.",
        "Analysts cautioned that rising costs for raw materials could squeeze margins later in the year.",
    ),
    "science": (
        "Researchers at the University of {city} have found that {animal} can recognise individual human faces.",
        "In a series of experiments, {n} animals were trained to choose between pairs of photographs.",
        "The team reported that accuracy stayed high even when the photographs were rotated.",
        "The findings, published this week, challenge the idea that face recognition requires a large brain.",
        "The authors caution that the sample was small and that the results need to be replicated.",
        "A new study suggests that short afternoon naps may improve memory in older adults.",
        "Participants who napped for about {n} minutes performed better on recall tests than those who did not.",
        "However, longer naps were linked to grogginess and poorer performance.",
        "The research was funded by a national health institute and involved volunteers from {n} countries.",
        "Scientists measured the soil samples over a period of {n} months.",
        "The results indicate that microbial activity increases sharply after the first rainfall of the season.",
        "This could have important consequences for how farmers time the planting of crops.",
    ),
    "business": (
        "Subject: Q{q} planning meeting",
        "Hi team, thanks for joining the call on {day}.",
        "We agreed to move the product launch from March to May so that the testing phase can be completed.",
        "{name} will own the marketing plan and share a draft by Friday.",
        "The budget for contractors is capped at {n} thousand dollars for the quarter.",
        "Support tickets increased by {n} percent last month, mostly about login problems.",
        "We need a decision on the new pricing tiers before the end of the month.",
        "Please send me your comments on the roadmap document by Wednesday.",
        "The customer survey showed that most users want better offline support.",
        "Action items: update the onboarding guide, fix the billing export, and schedule a design review.",
        "Let me know if anything in these notes is inaccurate.",
        "Best regards, {name}",
    ),
    "review": (
        "I bought this {product} last month and I have mixed feelings about it.",
        "The build quality is excellent and it looks great on my desk.",
        "Unfortunately the battery barely lasts a day, which is far less than advertised.",
        "Customer service was friendly but took {n} days to answer my email.",
        "For the price, I expected better performance.",
        "Setup took less than five minutes and the instructions were clear.",
        "After two weeks it stopped connecting to my phone.",
        "I would recommend it to anyone who needs something simple and reliable.",
        "Honestly one of the best purchases I have made this year.",
        "The delivery arrived late and the box was damaged.",
        "It does exactly what it promises, nothing more and nothing less.",
    ),
    "story": (
        "{name} had lived in the small village by the sea for as long as anyone could remember.",
        "Every morning she walked to the harbour to watch the fishing boats leave.",
        "One day a stranger arrived carrying a wooden box wrapped in blue cloth.",
        "He asked for a room at the inn and refused to tell anyone his name.",
        "By the end of the week, rumours about the box had spread through every house.",
        "When the storm came, it was the stranger who rowed out to rescue the missing boat.",
        "Nobody ever learned what was inside the box, but the village never forgot him.",
    ),
    "tech": (
        "At 14:{n} UTC the payments API started returning errors for about {n} percent of requests.",
        "The on-call engineer traced the problem to a database migration that locked the orders table.",
        "A retry loop in the Python client made the load worse, because every failed call was repeated three times.",
        "The team rolled back the release at 15:10 and error rates returned to normal within minutes.",
        "Version {m}.{n} of the library adds support for streaming responses and drops the old config format.",
        "The function that parses dates now raises a clear exception instead of returning None.",
        "Developers reported that the new build is about {n} percent faster on large repositories.",
        "Our JavaScript bundle grew by {n} KB after the charting module was added.",
        "Follow-up actions include adding a timeout to the client, an alert on lock waits and a load test before each migration.",
        "The code review process was changed so that schema changes need a second approver.",
        "Customers using the mobile app saw failed checkouts but no data was lost.",
        "The stack trace pointed to a null value in the shipping address field.",
    ),
    "policy": (
        "Employees may work remotely up to {n} days per week with the approval of their manager.",
        "Requests must be submitted through the HR portal at least two weeks in advance.",
        "Remote workers are expected to be reachable during core hours, from 10:00 to 15:00.",
        "The company will reimburse internet costs up to {n} dollars per month.",
        "Confidential documents must not be printed at home.",
        "This policy will be reviewed every twelve months.",
        "Refunds are available within {n} days of purchase if the item is unused and in its original packaging.",
        "Shipping costs are not refundable except when the item arrived damaged.",
    ),
}
_ANIMALS = ("bees", "crows", "sheep", "goats", "octopuses", "pigeons", "horses")
_PRODUCTS = (
    "blender",
    "laptop stand",
    "pair of headphones",
    "smartwatch",
    "coffee grinder",
    "desk lamp",
    "e-reader",
)
_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")
_SURNAMES = ("Okafor", "Lindqvist", "Moreau", "Tanaka", "Silva", "Novak", "Haddad", "Kowalski", "Reyes")


def document(rng: random.Random, sentences: int | None = None, genre: str | None = None) -> str:
    """A pasted document of a few plausible sentences (a news item, notes, a review, ...)."""
    genre = genre or rng.choice(list(_DOC_SENTENCES))
    pool = _DOC_SENTENCES[genre]
    count = sentences or rng.choice((2, 3, 4, 5, 6, 8, 10, 14))
    picked = [pool[i % len(pool)] for i in range(rng.randrange(len(pool)), rng.randrange(len(pool)) + count)]
    text = " ".join(
        fill(
            rng,
            s,
            city=CITIES,
            n=lambda r: number(r, 2, 90),
            m=lambda r: number(r, 1, 9),
            day=_DAYS,
            name=NAMES,
            surname=_SURNAMES,
            animal=_ANIMALS,
            product=_PRODUCTS,
            q=("1", "2", "3", "4"),
        )
        for s in picked
    )
    if len(text) > 600 and rng.random() < 0.5:  # paragraphs, as pasted text usually has
        words = text.split(". ")
        cut = len(words) // 2
        text = ". ".join(words[:cut]) + ".\n\n" + ". ".join(words[cut:])
    return text


SNIPPETS = (
    "def average(values):\n    total = 0\n    for v in values:\n        total += v\n    return total / len(values)",
    "function debounce(fn, ms) {\n  let t;\n  return (...args) => {\n    clearTimeout(t);\n    t = setTimeout(() => fn(...args), ms);\n  };\n}",
    "SELECT customer_id, COUNT(*) AS orders\nFROM orders\nWHERE created_at > '2023-01-01'\nGROUP BY customer_id\nHAVING COUNT(*) > 5;",
    'for f in *.log; do\n  gzip "$f"\ndone',
    "public int fib(int n) {\n    if (n < 2) return n;\n    return fib(n - 1) + fib(n - 2);\n}",
    'fn main() {\n    let v = vec![1, 2, 3];\n    let total: i32 = v.iter().sum();\n    println!("{}", total);\n}',
    "class Stack:\n    def __init__(self):\n        self.items = []\n\n    def push(self, x):\n        self.items.append(x)\n\n    def pop(self):\n        return self.items.pop()",
    "const res = await fetch(url);\nconst data = res.json();\nconsole.log(data.items.length);",
    "import pandas as pd\ndf = pd.read_csv('sales.csv')\nprint(df.groupby('region')['amount'].sum())",
    "func reverse(s string) string {\n    r := []rune(s)\n    for i, j := 0, len(r)-1; i < j; i, j = i+1, j-1 {\n        r[i], r[j] = r[j], r[i]\n    }\n    return string(r)\n}",
    '<div class="card">\n  <img src="logo.png">\n  <p>Welcome</p>\n</div>',
    "x = [1, 2, 3]\nfor i in range(len(x) + 1):\n    print(x[i])",
    '#include <stdio.h>\nint main() {\n    int a[5];\n    for (int i = 0; i <= 5; i++) a[i] = i;\n    printf("%d", a[2]);\n}',
    "^[a-zA-Z0-9._%+-]+@[a-zA-Z0-9.-]+\\.[a-zA-Z]{2,}$",
    "docker run -d -p 8080:80 --name web nginx",
    "Traceback (most recent call last):\n  File \"app.py\", line 12, in <module>\n    main()\n  File \"app.py\", line 8, in main\n    print(user['name'])\nKeyError: 'name'",
    "TypeError: Cannot read properties of undefined (reading 'map')\n    at App (App.js:14:22)",
    "def is_prime(n):\n    for i in range(2, n):\n        if n % i == 0:\n            return False\n    return True",
    "UPDATE users SET status = 'inactive' WHERE last_login < NOW() - INTERVAL '90 days';",
    "git rebase -i HEAD~3",
)

GENERIC_SYSTEMS = (
    "You are a helpful assistant.",
    "You are a helpful, respectful and honest assistant.",
    "You are ChatBot, a large language model. Answer as concisely as possible.",
    "You are an AI assistant. Provide a detailed answer so the user does not need to search elsewhere.",
    "Always answer in a friendly tone.",
    "You are a helpful assistant. Keep answers short.",
    "Knowledge cutoff: 2024-06. Current date: 2025-03-14.",
    "You are an assistant that follows instructions extremely well. Help as much as you can.",
    "Eres un asistente útil.",
    "Tu es un assistant serviable.",
    "You are a helpful assistant who answers in Markdown.",
)

# Short openings and closings people wrap around a request.
_OPENERS = (
    "",
    "",
    "",
    "",
    "Hi! ",
    "Hey, ",
    "Please ",
    "Quick question: ",
    "I need help. ",
    "Hello, ",
    "Can you help me? ",
)
_CLOSERS = (
    "",
    "",
    "",
    "",
    " Thanks!",
    " Thank you.",
    " Please be concise.",
    " Keep it short.",
    " thx",
    " Be detailed.",
)


def decorate(rng: random.Random, text: str) -> str:
    """Vary the surface: an opener or closer, lower case, no final punctuation."""
    roll = rng.random()
    if roll < 0.25:
        text = rng.choice(_OPENERS) + text[:1].lower() + text[1:] if text[:1].isupper() else text
    if rng.random() < 0.2:
        text = text + rng.choice(_CLOSERS)
    if rng.random() < 0.1 and len(text) < 300:
        text = text.lower()
    if rng.random() < 0.1 and text.endswith((".", "?")) and len(text) < 300:
        text = text[:-1]
    return text


def pick(rng: random.Random, options: Sequence[Gen]) -> str:
    return rng.choice(options)(rng)

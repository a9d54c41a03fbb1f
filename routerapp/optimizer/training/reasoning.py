"""Prompts that need reasoning: logic puzzles, deduction, planning, ordering, Fermi estimates,
commonsense and causal inference, and "which option follows"."""

from __future__ import annotations

import random

from routerapp.optimizer.training.common import CITIES, NAMES, fill, number

_OBJECTS = ("books", "birds", "cars", "fruits", "vehicles", "paintings", "runners", "houses", "cups")
_COLORS = ("red", "blue", "green", "yellow", "white", "black", "purple", "orange")
_SHELF = ("shelf", "row", "line", "table", "race", "street")


def _people(rng: random.Random, count: int) -> list[str]:
    return rng.sample(NAMES, count)


def _ordering(rng: random.Random) -> str:
    people = _people(rng, rng.randint(3, 5))
    a, b, c = people[:3]
    clues = [
        f"{a} finished before {b}.",
        f"{c} finished after {b}.",
        f"{people[-1]} was not last.",
        f"{b} did not finish first.",
    ]
    rng.shuffle(clues)
    question = rng.choice(
        (
            f"Who finished {rng.choice(('first', 'last', 'second', 'third'))}?",
            "What is the order from first to last?",
            f"Which of the following is true?\n(A) {a} finished last\n(B) {c} finished first\n(C) {b} finished second",
        )
    )
    return (
        f"{', '.join(people[:-1])} and {people[-1]} ran a race. "
        + " ".join(clues[: rng.randint(2, 4)])
        + f" {question}"
    )


def _arrangement(rng: random.Random) -> str:
    objects = rng.sample(_COLORS, rng.randint(3, 5))
    kind = rng.choice(_OBJECTS)
    place = rng.choice(_SHELF)
    facts = [
        f"The {objects[0]} one is to the left of the {objects[1]} one.",
        f"The {objects[1]} one is the {rng.choice(('second', 'third'))} from the right.",
        f"The {objects[-1]} one is the leftmost.",
        f"The {objects[2]} one is to the right of the {objects[0]} one.",
    ]
    rng.shuffle(facts)
    return (
        f"There are {len(objects)} {kind} on a {place}: {', '.join(objects)}. "
        + " ".join(facts[: rng.randint(2, 4)])
        + rng.choice(
            (
                f" Which {kind[:-1]} is in the middle?",
                " Which one is second from the left?",
                " Options: (A) the "
                + objects[0]
                + " one is rightmost (B) the "
                + objects[1]
                + " one is leftmost",
                " What is the arrangement from left to right?",
            )
        )
    )


def _liars(rng: random.Random) -> str:
    people = _people(rng, rng.randint(3, 4))
    honest = rng.choice(("always lies", "never lies"))
    lines = [f"In a village, {people[0]} {honest}."]
    for prev, person in zip(people, people[1:], strict=False):
        lines.append(f"{person} claims that {prev} {rng.choice(('is a liar', 'is honest'))}.")
    return " ".join(lines) + f" Is {people[-1]} honest? Work it out."


def _knights(rng: random.Random) -> str:
    a, b = _people(rng, 2)
    return fill(
        rng,
        'On an island, knights always tell the truth and knaves always lie. {a} says: "{b} and I are {both of the same kind|different kinds}." '
        '{b} says: "{a} is a {knave|knight}." What are {a} and {b}?',
        a=a,
        b=b,
    )


def _syllogism(rng: random.Random) -> str:
    return fill(
        rng,
        rng.choice(
            (
                "All {x} are {y}. Some {y} are {z}. Does it follow that some {x} are {z}?",
                "If all {x} are {y} and no {y} are {z}, can any {x} be {z}? Explain.",
                "Premise 1: Every {x} is {y}. Premise 2: {name} is not {y}. Conclusion: {name} is not a {xs}. Is the argument valid?",
                "Spot the flaw, if any: all {x} are {y}; {name} is {y}; so {name} must be a {xs}.",
                "If it rains, the {event} is cancelled. The {event} was not cancelled. What can we conclude?",
                "Either {name} took the bus or she walked. She didn't walk. What follows?",
                "If {name} studies, she passes. She passed. Did she necessarily study?",
            )
        ),
        x=("cats", "engineers", "birds", "poets", "squares", "doctors"),
        y=("mammals", "graduates", "animals", "dreamers", "rectangles", "busy"),
        z=("pets", "musicians", "swimmers", "tall", "red", "happy"),
        xs=("cat", "engineer", "bird", "poet", "square", "doctor"),
        name=NAMES,
        event=("picnic", "match", "concert", "market"),
    )


def _family(rng: random.Random) -> str:
    return fill(
        rng,
        rng.choice(
            (
                "{c}'s mother is {b}, and {b}'s only brother is {a}. What is {a} to {c}?",
                "{a}'s mother is {b}'s sister. How is {a} related to {b}?",
                "If {a} is taller than {b}, and {b} is taller than {c}, who is the shortest?",
                "{a} is older than {b} but younger than {c}. {d} is older than {c}. Who is the second oldest?",
                'Pointing to a photo, {a} says: "His mother is the only daughter of my mother." Who is in the photo?',
            )
        ),
        a=NAMES,
        b=NAMES,
        c=NAMES,
        d=NAMES,
    )


def _sequence(rng: random.Random) -> str:
    start, step = rng.randint(1, 9), rng.randint(2, 7)
    seq = ", ".join(str(start + step * i * i) for i in range(5))
    return rng.choice(
        (
            f"What comes next in the sequence {seq}, ...? Explain the pattern.",
            f"Find the pattern: {seq}. What is the next term?",
            "What comes next: J, F, M, A, M, J, ...?",
            "Find the odd one out among: apple, banana, carrot, cherry. Justify it.",
            "Complete the analogy: bird is to nest as bee is to ...?",
            "Which letter comes next: A, C, F, J, O, ...?",
        )
    )


def _fermi(rng: random.Random) -> str:
    return fill(
        rng,
        rng.choice(
            (
                "How many piano tuners are there in {city}? Estimate and explain your reasoning.",
                "Estimate how many golf balls fit in a school bus.",
                "Roughly how many {things} are sold in {country} each year? Walk me through a Fermi estimate.",
                "Give a back-of-the-envelope estimate of how many hotel rooms exist in {country}.",
                "Estimate the number of windows in {city}.",
                "How much water does a city of one million people use per day? Give an order-of-magnitude estimate.",
                "Roughly how many bicycles are parked in {city} on a weekday? State your assumptions.",
                "Ballpark the weight of all the books in a big public library.",
                "Fermi problem: how many {things} are in {city}?",
            )
        ),
        city=CITIES,
        country=("Germany", "Brazil", "Japan", "Canada", "India"),
        things=("pizzas", "umbrellas", "bicycles", "dogs", "coffee cups", "hair salons"),
    )


def _planning(rng: random.Random) -> str:
    return fill(
        rng,
        rng.choice(
            (
                "I have meetings with {a}, {b} and {c}. {a} is only free in the morning, {b} can't meet before noon, "
                "and {c} needs to meet after {b}. How should I schedule the day?",
                "A farmer must cross a river with a wolf, a goat and a cabbage. The boat carries only one item at a time. "
                "How can he get everything across safely?",
                "I need to cook rice (20 min), bake a cake (45 min, oven), and roast vegetables (30 min, oven). "
                "I have one oven and one stove. What is the fastest plan?",
                "You have a 3-liter jug and a 5-liter jug. How can you measure exactly 4 liters?",
                "Plan the order of tasks: painting the walls, sanding the floor, installing lights, moving furniture back. Which order makes sense and why?",
                "Four people must cross a bridge at night with one torch. They take 1, 2, 5 and 10 minutes. "
                "At most two can cross at once. What is the minimum total time?",
                "I want to visit {city}, {city2} and {city3} in one week by train, starting and ending at home. In what order should I go to minimize travel?",
                "Given these dependencies: B needs A, C needs A, D needs B and C. In what order should the tasks run?",
                "Make a step-by-step plan to move house in two weeks with a full-time job.",
                "Plan a weekly study schedule for three exams with these constraints: {a} can only study evenings, the math exam is first.",
            )
        ),
        a=NAMES,
        b=NAMES,
        c=NAMES,
        city=CITIES,
        city2=CITIES,
        city3=CITIES,
    )


def _commonsense(rng: random.Random) -> str:
    return fill(
        rng,
        rng.choice(
            (
                "The ground is wet but it did not rain. What could be the reasons?",
                "{name} jogs every morning yet keeps getting slower each month. What could explain it?",
                "The man turned off the lights and could not see. What happened first? Options: (A) He turned off the lights (B) He could not see",
                "{name} put the ice cream in the oven. What will most likely happen?",
                "Which is more likely to float: a brick or a log? Why?",
                "The glass fell off the table. What was the cause? Choose: (a) someone bumped the table (b) the glass was full",
                "A woman shoots her husband, then holds him underwater, then hangs him. Ten minutes later they go out to dinner. How?",
                "If I put a sock in a drawer, then move the drawer to another room, where is the sock?",
                "{name} left an umbrella at home and got wet. What can we infer about the weather?",
                "The streets were empty and all the shops were closed. What day might it be? Explain your inference.",
                "Why would someone wear sunglasses at night? Give the most plausible explanation.",
                "What would happen if the moon suddenly disappeared? Reason about the consequences.",
                "If yesterday was the day after Monday, what day is tomorrow?",
                "Today is {day}. What day of the week will it be in {n} days?",
                "{name} was born on February 29. How many birthdays has she had if she is 24 years old? Explain.",
                "Would a goalkeeper ever score a three-pointer? Explain what is odd about that claim.",
                "Which is heavier, a kilogram of feathers or a kilogram of steel?",
                "A gas leak filled the room and then someone lit a match. Which one caused the explosion, and what would most people say?",
            )
        ),
        name=NAMES,
        day=("Monday", "Tuesday", "Friday", "Sunday"),
        n=lambda r: number(r, 3, 100),
    )


def _which_follows(rng: random.Random) -> str:
    stem = fill(
        rng,
        rng.choice(
            (
                "{name} poured water into the pot and put it on the stove.",
                "The children put on their coats and boots.",
                "{name} forgot to charge her phone overnight.",
                "The crowd went silent as the lights dimmed.",
                "{name} dropped his wallet on the busy street.",
                "The baker took the bread out of the oven too early.",
            )
        ),
        name=NAMES,
    )
    endings = rng.sample(
        (
            "The water began to boil.",
            "They went outside to play in the snow.",
            "The phone died in the afternoon.",
            "The concert was about to begin.",
            "A stranger picked it up and ran after him.",
            "The loaf was still doughy in the middle.",
            "The cat learned to fly.",
            "The sun rose in the west.",
        ),
        3,
    )
    opts = "\n".join(f"{label} {e}" for label, e in zip(("A)", "B)", "C)"), endings, strict=False))
    return rng.choice(
        (
            f"{stem} What happens next?\n{opts}",
            f"Which ending is most plausible?\n{stem}\n{opts}",
            f"Choose the most likely continuation: {stem}\n{opts}",
            f"{stem}\nWhich option follows most logically?\n{opts}",
        )
    )


def _nli(rng: random.Random) -> str:
    premise = fill(
        rng,
        rng.choice(
            (
                "A man in a red jacket is riding a bicycle down a hill.",
                "Two children are building a sandcastle on the beach.",
                "The restaurant was full, so we ate at home.",
                "{name} has lived in {city} for ten years.",
                "A woman is playing the violin on a crowded street.",
            )
        ),
        name=NAMES,
        city=CITIES,
    )
    hypothesis = rng.choice(
        ("Someone is outdoors.", "Nobody is moving.", "The person is asleep.", "It is raining.")
    )
    return rng.choice(
        (
            f"Statement A: {premise}\nStatement B: {hypothesis}\nIf A is true, must B also be true? Say yes, no or can't tell.",
            f"Suppose this is true: {premise} Does it follow that {hypothesis[0].lower()}{hypothesis[1:]}",
            f"Knowing only that {premise[0].lower()}{premise[1:]} can I safely infer that {hypothesis[0].lower()}{hypothesis[1:]}",
        )
    )


def _dates(rng: random.Random) -> str:
    return fill(
        rng,
        rng.choice(
            (
                "My passport was issued on {m}/{d}/20{y} and is valid for ten years minus one day. On what day does it expire?",
                "My flight left on the last day of {month} and I stayed {n} days. On what date did I return?",
                "If the meeting is 3 days after the day before yesterday, and today is {day}, when is the meeting?",
            )
        ),
        m=lambda r: number(r, 1, 12),
        d=lambda r: number(r, 1, 28),
        y=lambda r: number(r, 10, 29),
        month=("January", "March", "June", "October"),
        n=lambda r: number(r, 3, 20),
        day=("Monday", "Wednesday", "Saturday"),
    )


def _tracking(rng: random.Random) -> str:
    a, b, c = _people(rng, 3)
    if rng.random() < 0.5:
        return (
            "A coin is under the left cup of three. The dealer swaps the left and middle cups, then the middle and "
            "right cups, then the left and right cups. Under which cup is the coin now?"
        )
    seats = rng.sample(("window", "aisle", "middle"), 3)
    return (
        f"On a train, {a} has the {seats[0]} seat, {b} the {seats[1]} seat and {c} the {seats[2]} seat. "
        f"{a} trades seats with {c}, and afterwards {b} trades with {a}. Which seat does {rng.choice((a, b, c))} end up in?"
    )


def _tradeoffs(rng: random.Random) -> str:
    return fill(
        rng,
        rng.choice(
            (
                "Three boxes are labelled apples, oranges and mixed, and every label is wrong. You may take one fruit from one box. How do you fix the labels?",
                "You have 8 coins and one is heavier. With a balance scale, what is the minimum number of weighings to find it?",
                "A says B did it. B says C did it. C says B is lying. Only one of them tells the truth. Who did it?",
                "There are {n} people in a room and everyone shakes hands with everyone else once. Reason out how many handshakes there are and why.",
                "Two doors: one leads to freedom, one to doom. One guard always lies, one always tells the truth. What single question do you ask?",
                "Five houses in a row are painted different colours. The green house is left of the white one. The red house is in the middle. Who can live where? Work it out.",
                "Two painters paint two fences in two hours. How many painters are needed to paint six fences in two hours? Watch for the trap.",
                "Deduce the murderer: the butler was in the kitchen, the maid was with the gardener, and the gardener lied about the time. Who had the opportunity?",
            )
        ),
        n=lambda r: number(r, 5, 30),
    )


def _foreign(rng: random.Random) -> str:
    return fill(
        rng,
        rng.choice(
            (
                "Si todos los gatos son animales y algunos animales vuelan, ¿se puede concluir que algunos gatos vuelan?",
                "{a} est plus grand que {b}, et {b} est plus grand que {c}. Qui est le plus petit ?",
                "Wenn es regnet, wird die Straße nass. Die Straße ist nass. Hat es also geregnet? Begründe.",
                "Estime quantos dentistas existem em {city}. Explique o raciocínio.",
                "Qual è il numero successivo nella sequenza 2, 6, 12, 20, 30?",
            )
        ),
        a=NAMES,
        b=NAMES,
        c=NAMES,
        city=CITIES,
    )


GENERATORS = (
    (_ordering, 2),
    (_arrangement, 1.5),
    (_liars, 1),
    (_knights, 0.7),
    (_syllogism, 2),
    (_family, 1.5),
    (_sequence, 1.2),
    (_fermi, 1.5),
    (_planning, 2),
    (_commonsense, 3.5),
    (_which_follows, 2),
    (_nli, 1.2),
    (_dates, 0.8),
    (_tracking, 0.8),
    (_tradeoffs, 1.5),
    (_foreign, 0.6),
)

FOLLOW_UPS = (
    "Are you sure? Check each clue again.",
    "What if the second clue were false?",
    "Explain why the other options are wrong.",
)
SYSTEMS = (
    "You are a careful logician. Reason step by step before answering.",
    "Answer the puzzle. Think it through first.",
)

"""Prompts with a numeric or symbolic answer: arithmetic, word problems, algebra, calculus, statistics."""

from __future__ import annotations

import random

from routerapp.optimizer.training.common import CITIES, ITEMS, NAMES, fill, number


def _n(low: int = 2, high: int = 60):
    return lambda rng: number(rng, low, high)


_WORD_PROBLEMS = (
    "{name} has {a} {item}. She gives {b} to her brother and buys {c} more. How many {item} does she have now?",
    "{name} buys {a} {item} at ${p} each and pays with a ${big} bill. How much change does he get?",
    "A bakery sells {a} loaves of bread every morning and {b} every afternoon. How many loaves does it sell in {d} days?",
    "{name} reads {a} pages a day. The book has {big} pages. How many days will it take to finish the book?",
    "A train leaves {city} at 9:00 and travels at {a} km/h. How far has it gone by 12:30?",
    "{name} earns ${a} per hour and works {b} hours a week. How much does she earn in {d} weeks?",
    "There are {a} students in a class. {pct}% of them walk to school and the rest take the bus. How many take the bus?",
    "{name} is {a} years old. His sister is {b} years older than half his age. How old is his sister?",
    "A recipe needs {a} eggs for {b} people. How many eggs are needed for {c} people?",
    "{name} saves ${a} each month. How many months will it take to save ${big}?",
    "A farmer has {a} chickens and {b} cows. How many legs are there in total?",
    "A shirt costs ${big}. It is on sale for {pct}% off. What is the sale price?",
    "{name} ran {a} km on Monday, {b} km on Tuesday and twice as far on Wednesday as on Monday. How many km did she run in total?",
    "A tank holds {big} liters of water. It leaks {a} liters per hour. After how many hours will it be empty?",
    "{name} and {name2} share {big} marbles in the ratio {r1}:{r2}. How many marbles does {name2} get?",
    "A car uses {a} liters of fuel per 100 km. How much fuel is needed for a trip of {big} km?",
    "{name} bought {a} packs of {item} with {b} in each pack, then ate {c}. How many are left?",
    "The price of a ticket rose from ${a} to ${big}. By what percentage did it increase?",
    "In a school, there are {a} more girls than boys. If there are {big} students in total, how many boys are there?",
    "{name} walks {a} steps per minute. How many steps does he take in {b} minutes and {c} seconds?",
    "A rectangle garden is {a} m long and {b} m wide. A path 1 m wide goes around it. What is the area of the path?",
    "{name} has three times as many {item} as {name2}, and together they have {big}. How many does {name2} have?",
    "It takes {a} workers {b} days to build a wall. How long would it take {c} workers at the same rate?",
    "{name} spends a third of her ${big} allowance on food and a quarter on books. How much is left?",
    "A pizza is cut into {a} slices. {name} eats {b} slices and {name2} eats {c}. What fraction of the pizza is left?",
    "A store had {big} {item}. On Monday it sold {a}, on Tuesday it sold twice as many, and on Wednesday it received a delivery of {c}. How many {item} does it have now?",
    "Tickets to the fair cost ${a} for adults and ${b} for children. A family of {c} adults and {d} children goes. What is the total cost?",
    "{name} plants {a} rows of tomatoes with {b} plants in each row. Each plant gives {c} tomatoes. How many tomatoes does she harvest?",
)

_ALGEBRA = (
    "Solve for x: {a}x + {b} = {c}",
    "solve {a}x - {b} = {c}x + {d}",
    "Find the roots of x^2 - {a}x + {b} = 0.",
    "Solve the system: {a}x + y = {b} and x - y = {c}.",
    "Simplify ({a}x^2 + {b}x) / x.",
    "Factor x^2 + {a}x + {b}.",
    "If f(x) = {a}x^2 - {b}x + {c}, what is f({d})?",
    "Expand (x + {a})(x - {b}).",
    "What is the value of y if {a}y/{b} = {c}?",
    "Find the slope of the line through ({a}, {b}) and ({c}, {d}).",
    "Solve the inequality {a}x - {b} > {c}.",
    "Find x such that log base 2 of x equals {small}.",
    "If 3^x = {big}, what is x to two decimal places?",
    "Find the inverse of the function f(x) = {a}x + {b}.",
)
_CALCULUS = (
    "Find the derivative of f(x) = {a}x^3 - {b}x^2 + {c}.",
    "What is the integral of {a}x^2 + {b} dx?",
    "Compute the definite integral of sin(x) from 0 to pi.",
    "Differentiate e^({a}x) * cos(x).",
    "Find the limit of (x^2 - {sq}) / (x - {small}) as x approaches {small}.",
    "Find the local maxima and minima of f(x) = x^3 - {a}x.",
    "What is the second derivative of ln(x^2 + {a})?",
    "Evaluate the integral of 1/(x^2 + 1) from 0 to 1.",
    "Find the Taylor series of e^x up to the x^4 term.",
    "Use the chain rule to differentiate sqrt({a}x + {b}).",
)
_STATS = (
    "What is the mean, median and mode of {list}?",
    "Calculate the standard deviation of {list}.",
    "Two dice are thrown. Find P(sum = {small2}).",
    "If I flip {small} coins, what is the probability of getting exactly two heads?",
    "A bag has {a} red and {b} blue balls. Two are drawn without replacement. What is the probability both are red?",
    "The heights of students are normally distributed with mean {big} cm and standard deviation {a} cm. What percentage are taller than {big2} cm?",
    "In how many ways can {small} people be seated in a row?",
    "How many different {small}-letter arrangements can be made from the letters of the word PENCIL?",
    "Compute the variance of the data set {list}.",
    "What is the expected value of a game where you win ${a} with probability 0.3 and lose ${b} otherwise?",
    "Find the correlation coefficient for x = {list} and y = {list2}.",
    "What is 12 choose {small}?",
)
_ARITHMETIC = (
    "What is {big} * {a}?",
    "{big} + {big2} - {a} = ?",
    "calculate {a}^{small}",
    "What is {pct}% of {big}?",
    "What is {big} divided by {a}, rounded to two decimals?",
    "Compute ({a} + {b}) * {c} - {d}.",
    "What's the square root of {sq}?",
    "{a} x {b}",
    "Convert {big} km to miles.",
    "How many seconds are there in {a} hours?",
    "What is 3/4 + 5/{small2}?",
    "Is {big} a prime number? Show the divisibility checks.",
    "What is the least common multiple of {a} and {b}?",
    "What is the greatest common divisor of {big} and {a}?",
    "Round {big}.{a}7 to the nearest ten.",
    "What is {a} to the power of {small} modulo {small2}?",
    "Compute the sum of all integers from 1 to {big}.",
    "What is the sum of the first {a} odd numbers?",
    "Express 0.{a} as a fraction in lowest terms.",
    "Convert {big} to binary.",
    "-{a} + {b} * (-{c}) = ?",
)
_GEOMETRY = (
    "What is the area of a circle with radius {a} cm?",
    "A triangle has sides {a}, {b} and {c}. Is it a right triangle?",
    "Points P({a}, 0), Q(0, {b}) and R({c}, {d}) form a triangle. Compute its area with the shoelace formula.",
    "What is the volume of a cylinder with radius {small} and height {a}?",
    "The hypotenuse of a right triangle is {big} and one leg is {a}. Find the other leg.",
    "What is the sum of the interior angles of a {small2}-sided polygon?",
    "A square has a diagonal of {a} cm. What is its area?",
    "Find the circumference of a circle whose area is {big} square meters.",
    "What is the distance between the points ({a}, {b}) and ({c}, {d})?",
)
_PROOFS = (
    "Prove that the square root of 2 is irrational.",
    "Prove that there are infinitely many prime numbers.",
    "Show that the sum of two odd numbers is even.",
    "Prove by induction that 1 + 2 + ... + n = n(n+1)/2.",
    "Show that n^3 - n is divisible by 6 for every integer n.",
    "Prove that the product of two consecutive integers is even.",
)
_MULTIPLE_CHOICE = (
    "If {a}x = {big}, then x equals\nA) {b}\nB) {c}\nC) {d}\nD) {a}",
    "What is {pct}% of {big}?\n(A) {a} (B) {b} (C) {c} (D) {d}",
    "Which of the following is the derivative of x^{small}?\nA. {small}x^{small2}\nB. x^{small}\nC. {small}x\nD. 0",
    "The mean of five numbers is {a}. Four of them are {b}, {c}, {d} and {small}. What is the fifth?\nOptions: {b}, {c}, {big}, {d}",
)


def _numbers(rng: random.Random) -> str:
    return ", ".join(number(rng, 1, 40) for _ in range(rng.randint(5, 9)))


_SLOTS = {
    "name": NAMES,
    "name2": NAMES,
    "city": CITIES,
    "item": ITEMS,
    "a": _n(2, 30),
    "b": _n(2, 30),
    "c": _n(2, 30),
    "d": _n(2, 12),
    "p": _n(2, 15),
    "r1": _n(1, 5),
    "r2": _n(1, 5),
    "pct": ("5", "10", "12", "15", "20", "25", "30", "40", "60", "75", "80"),
    "big": _n(100, 900),
    "big2": _n(100, 900),
    "small": _n(2, 5),
    "small2": _n(6, 12),
    "sq": ("16", "49", "81", "121", "144", "169", "225", "2", "50"),
    "list": _numbers,
    "list2": _numbers,
}
_ASKS = (
    "",
    "",
    "",
    " Show your work.",
    " Explain step by step.",
    " Give only the final answer.",
    " Let's think step by step.",
    " Round to two decimal places.",
    " Explain your reasoning.",
)


def _from(templates: tuple[str, ...]):
    def generate(rng: random.Random) -> str:
        return fill(rng, rng.choice(templates), **_SLOTS) + rng.choice(_ASKS)

    return generate


def _framed(rng: random.Random) -> str:
    problem = fill(rng, rng.choice(_WORD_PROBLEMS + _ALGEBRA), **_SLOTS)
    return fill(
        rng,
        rng.choice(
            (
                "Question: {p}\nAnswer:",
                "Solve the following math problem. {p}",
                "Problem: {p}\nSolution:",
                "{p}\nPut the final answer in \\boxed{{}}.",
                "Q: {p}\nA: Let's think step by step.",
                "Math homework help: {p}",
                "{p} Answer with a number.",
            )
        ),
        p=problem,
    )


def _multi_step(rng: random.Random) -> str:
    # Two or three word-problem sentences glued together, the way long word problems read.
    name = rng.choice(NAMES)
    parts = [
        f"{name} opens a lemonade stand. On the first day she sells {number(rng, 10, 40)} cups at ${number(rng, 1, 3)} each.",
        f"The next day she sells {number(rng, 2, 5)} times as many cups, but lowers the price by 50 cents.",
        f"Her costs are ${number(rng, 5, 20)} per day for lemons and sugar.",
        f"She also pays her friend {rng.choice(NAMES)} ${number(rng, 5, 15)} for helping on the second day.",
        "How much profit does she make over the two days?",
    ]
    if rng.random() < 0.5:
        parts = [
            f"A school orders {number(rng, 10, 40)} boxes of pencils with {number(rng, 12, 24)} pencils per box.",
            f"Each of the {number(rng, 5, 12)} classes gets the same number of pencils and {number(rng, 2, 20)} pencils are kept in reserve.",
            "How many pencils does each class get?",
        ]
    return " ".join(parts)


def _foreign(rng: random.Random) -> str:
    return fill(
        rng,
        rng.choice(
            (
                "¿Cuánto es {a} por {b} más {c}?",
                "Resuelve la ecuación {a}x + {b} = {c}.",
                "Calcule l'intégrale de x^{small} entre 0 et {a}.",
                "Combien font {big} divisé par {a} ?",
                "Berechne {pct} % von {big}.",
                "Löse die Gleichung x^2 - {sq} = 0.",
                "{name} tem {a} maçãs e come {b}. Quantas maçãs sobram?",
                "计算 {a} 乘以 {b} 等于多少？",
                "Quanto fa {a} più {b} per {c}?",
            )
        ),
        **_SLOTS,
    )


GENERATORS = (
    (_from(_WORD_PROBLEMS), 7),
    (_multi_step, 2),
    (_from(_ALGEBRA), 3),
    (_from(_CALCULUS), 2),
    (_from(_STATS), 2.5),
    (_from(_ARITHMETIC), 3),
    (_from(_GEOMETRY), 2),
    (_from(_PROOFS), 0.6),
    (_from(_MULTIPLE_CHOICE), 1),
    (_framed, 2),
    (_foreign, 0.8),
)

FOLLOW_UPS = (
    "What if the price doubles?",
    "Now solve it for x = {a}.",
    "Can you check that answer again?",
    "And what is the result in percent?",
    "Now do it for {big} instead.",
)
SYSTEMS = (
    "You are a math tutor. Show your work.",
    "You are a precise calculator. Answer with numbers.",
    "Solve math problems step by step and give the final answer at the end.",
)

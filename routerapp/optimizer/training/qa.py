"""Factual, explanatory and general-knowledge questions, advice, chit-chat and everything else."""

from __future__ import annotations

import random

from routerapp.optimizer.training.common import CITIES, NAMES, TOPICS, fill

_FACTS = (
    "What is the capital of {country}?",
    "Who wrote {book}?",
    "When did {event} happen?",
    "Who was the first person to {feat}?",
    "What is the tallest mountain in {continent}?",
    "How far is the Moon from the Earth?",
    "What language do people speak in {country}?",
    "What is the population of {city}?",
    "Who painted {painting}?",
    "Which planet is closest to the Sun?",
    "What is the boiling point of water at sea level?",
    "Who invented the telephone?",
    "What year did {event} end?",
    "What currency is used in {country}?",
    "Who is the author of {book}?",
    "How many bones are in the human body?",
    "What is the largest ocean on Earth?",
    "Which country has the most time zones?",
    "What is the chemical symbol for gold?",
    "Who discovered penicillin?",
    "What does DNA stand for?",
    "Where is {landmark} located?",
    "When was {landmark} built?",
    "What's the longest river in {continent}?",
    "Who won the first FIFA World Cup?",
)
_EXPLAIN = (
    "Explain {topic} in simple terms.",
    "How does {thing} work?",
    "Why is the sky blue?",
    "What causes {phenomenon}?",
    "What is the difference between {x} and {y}?",
    "Can you explain how {thing} works?",
    "What is {topic}?",
    "Tell me about {topic}.",
    "Give me an overview of {topic}.",
    "What are the main causes of {topic}?",
    "What are the benefits and risks of {topic}?",
    "Why do {creatures} {behaviour}?",
    "What does {concept} mean in {field}?",
    "Describe the history of {topic}.",
    "What were the consequences of {event}?",
    "How is {thing} made?",
    "What role did {person} play in {event}?",
    "Explain the concept of {concept} and give an everyday example.",
    "Discuss the main arguments for and against {topic}.",
    "What is the significance of {event} in world history?",
    "How do economists measure {metric}?",
)
_ADVICE = (
    "How can I improve my {skill}?",
    "What are some tips for {activity}?",
    "I feel {feeling} at work lately. What should I do?",
    "How do I prepare for a job interview?",
    "What should I pack for a week in {city}?",
    "How can I save more money each month?",
    "What's the best way to learn {language}?",
    "Any advice for a first-time {role}?",
    "How do I get my toddler to sleep through the night?",
    "Should I rent or buy a house?",
    "My friend stopped talking to me and I don't know why. What can I do?",
    "How do I deal with a difficult coworker?",
    "What are good habits for staying healthy?",
    "How much water should I drink per day?",
    "How do I remove a red wine stain from a carpet?",
    "What should I look for when buying a used car?",
    "Is it safe to eat eggs past their expiry date?",
    "How do I ask for a raise?",
    "Recommend some {genre} books for a teenager.",
    "What are the best places to visit in {city}?",
    "How do I keep plants alive in a dark apartment?",
    "What are some ways to reduce stress before exams?",
    "How do I start running if I've never exercised?",
    "What's a good recipe for {dish}?",
    "How do I cook {dish}?",
    "What's the best time of year to visit {country}?",
    "How do I change a flat tire?",
    "What are the symptoms of {illness}?",
)
_CHAT = (
    "hi",
    "Hello!",
    "hey there",
    "How are you today?",
    "good morning",
    "What's up?",
    "Who are you?",
    "What can you do?",
    "thanks, that helped",
    "ok",
    "lol",
    "Are you conscious?",
    "Do you have feelings?",
    "What is your name?",
    "Tell me something interesting.",
    "I'm bored.",
    "What do you think about {topic}?",
    "Can we just chat for a bit?",
    "Good night!",
    "What's your favourite movie?",
    "test",
)
_MULTIPLE_CHOICE = (
    "Which of the following is a primary color?\nA. Green\nB. Red\nC. Orange\nD. Purple",
    "Which organ pumps blood through the body?\n(A) Lungs (B) Liver (C) Heart (D) Kidney",
    "The Treaty of Versailles ended which war?\nA) World War I\nB) World War II\nC) The Cold War\nD) The Crimean War",
    "Which gas do plants absorb from the air?\nA. Oxygen B. Nitrogen C. Carbon dioxide D. Helium",
    "Who developed the theory of relativity? A) Newton B) Einstein C) Darwin D) Curie",
    "Which of these is a mammal? (a) shark (b) dolphin (c) trout (d) octopus",
    "Which of the following best describes the function of mitochondria?\nA. Protein synthesis\nB. Energy production\nC. Storing DNA\nD. Cell division",
    "In economics, what does GDP measure?\nA. Government debt\nB. Total value of goods and services produced\nC. Inflation\nD. Unemployment",
    "Which amendment to the US Constitution protects freedom of speech?\n(A) First (B) Second (C) Fifth (D) Tenth",
    "What is the main function of the kidneys? Answer with the letter.\nA) digestion B) filtering blood C) breathing D) movement",
    "Which philosopher wrote 'The Republic'?\nA. Aristotle\nB. Plato\nC. Socrates\nD. Kant",
    "Question: Which layer of the atmosphere contains the ozone layer?\nOptions: troposphere, stratosphere, mesosphere, thermosphere\nAnswer:",
)
_SLOTS = {
    "country": (
        "France",
        "Australia",
        "Kenya",
        "Peru",
        "Vietnam",
        "Norway",
        "Canada",
        "Egypt",
        "Japan",
        "Chile",
    ),
    "book": (
        "Pride and Prejudice",
        "One Hundred Years of Solitude",
        "1984",
        "The Odyssey",
        "Things Fall Apart",
        "Don Quixote",
    ),
    "event": (
        "the fall of the Berlin Wall",
        "World War II",
        "the French Revolution",
        "the Apollo 11 mission",
        "the Black Death",
        "the Industrial Revolution",
    ),
    "feat": ("walk on the Moon", "climb Mount Everest", "fly across the Atlantic", "reach the South Pole"),
    "continent": ("Africa", "Europe", "South America", "Asia", "North America"),
    "city": CITIES,
    "painting": ("the Mona Lisa", "The Starry Night", "Guernica", "The Scream"),
    "landmark": ("Machu Picchu", "the Taj Mahal", "Angkor Wat", "the Colosseum", "Petra"),
    "topic": TOPICS,
    "thing": (
        "a refrigerator",
        "the internet",
        "GPS",
        "a nuclear reactor",
        "the human eye",
        "a vaccine",
        "a credit score",
        "an airplane wing",
        "compound interest",
        "a microwave oven",
    ),
    "phenomenon": (
        "earthquakes",
        "the seasons",
        "tides",
        "rainbows",
        "inflation",
        "jet lag",
        "the northern lights",
    ),
    "x": ("a virus", "weather", "a crocodile", "stocks", "baking soda", "a psychologist"),
    "y": ("bacteria", "climate", "an alligator", "bonds", "baking powder", "a psychiatrist"),
    "creatures": ("cats", "birds", "whales", "bees", "dogs"),
    "behaviour": ("purr", "migrate", "sing", "dance", "howl at night"),
    "field": ("quantum physics", "economics", "biology", "philosophy", "psychology", "linguistics"),
    "concept": (
        "superposition",
        "opportunity cost",
        "natural selection",
        "the categorical imperative",
        "cognitive dissonance",
        "entropy",
    ),
    "person": ("Napoleon", "Marie Curie", "Nelson Mandela", "Genghis Khan", "Ada Lovelace"),
    "metric": ("unemployment", "inflation", "productivity", "income inequality"),
    "skill": ("public speaking", "writing", "memory", "chess game", "English pronunciation", "sleep"),
    "activity": (
        "traveling on a budget",
        "growing tomatoes",
        "studying for exams",
        "running a marathon",
        "negotiating salary",
    ),
    "feeling": ("burned out", "unmotivated", "anxious", "bored"),
    "language": ("Spanish", "Japanese", "the guitar", "statistics", "German"),
    "role": ("manager", "parent", "homeowner", "dog owner"),
    "genre": ("fantasy", "science fiction", "history", "mystery"),
    "dish": ("lasagna", "pad thai", "banana bread", "risotto", "a vegan curry"),
    "illness": ("the flu", "diabetes", "dehydration", "a concussion"),
    "name": NAMES,
}


def _from(templates: tuple[str, ...]):
    def generate(rng: random.Random) -> str:
        return fill(rng, rng.choice(templates), **_SLOTS)

    return generate


def _terse(rng: random.Random) -> str:
    # Search-box style queries.
    return fill(
        rng,
        rng.choice(
            (
                "capital of {country}",
                "{topic} explained",
                "symptoms of {illness}",
                "best time to visit {country}",
                "history of {topic}",
                "{x} vs {y}",
                "how tall is mount everest",
                "who is {person}",
                "{dish} recipe",
                "is coffee bad for you",
                "weather in {city} in april",
            )
        ),
        **_SLOTS,
    )


def _long_question(rng: random.Random) -> str:
    # A question with some personal background first, as people write in chat.
    background = fill(
        rng,
        rng.choice(
            (
                "I'm a {age}-year-old teacher from {city} and I've been thinking about changing careers.",
                "My family is moving to {city} next month and we have two kids in primary school.",
                "I've been reading a lot about {topic} recently but the articles contradict each other.",
                "My grandmother keeps asking me about {topic} and I want to explain it properly.",
            )
        ),
        age=("28", "35", "42", "51"),
        **_SLOTS,
    )
    question = fill(rng, rng.choice(_EXPLAIN + _ADVICE), **_SLOTS)
    return f"{background} {question}"


def _foreign(rng: random.Random) -> str:
    return rng.choice(
        (
            "¿Cuál es la capital de Australia?",
            "¿Por qué el cielo es azul?",
            "Qui a écrit Les Misérables ?",
            "Comment fonctionne un vaccin ?",
            "Wie funktioniert ein Kühlschrank?",
            "Wer hat die Glühbirne erfunden?",
            "Qual é o maior planeta do sistema solar?",
            "Come posso migliorare il mio sonno?",
            "为什么天空是蓝色的？",
            "日本の首都はどこですか？",
            "Hola, ¿cómo estás?",
            "Bonjour ! Ça va ?",
            "Какая самая длинная река в мире?",
        )
    )


GENERATORS = (
    (_from(_FACTS), 4),
    (_from(_EXPLAIN), 5),
    (_from(_ADVICE), 5),
    (_from(_CHAT), 1.5),
    (_from(_MULTIPLE_CHOICE), 1.2),
    (_terse, 1.5),
    (_long_question, 1.5),
    (_foreign, 1),
)

FOLLOW_UPS = (
    "Can you tell me more?",
    "Why is that?",
    "What about in {country}?",
    "Interesting. And how does that compare today?",
    "Thanks! Any other tips?",
)
SYSTEMS = (
    "You are a knowledgeable encyclopedia. Answer factually.",
    "You are a friendly life coach.",
    "You are a history teacher.",
    "You are a travel expert.",
)

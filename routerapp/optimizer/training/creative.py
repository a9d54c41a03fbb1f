"""Prompts to write something new: stories, poems, roleplay, slogans, emails and essays from scratch,
brainstorming."""

from __future__ import annotations

import random

from routerapp.optimizer.training.common import CITIES, NAMES, TOPICS, fill

_SUBJECTS = (
    "a lighthouse keeper who finds a message in a bottle",
    "a robot learning to paint",
    "autumn leaves",
    "the first day of school",
    "a dragon who is afraid of the dark",
    "the ocean at night",
    "a city without cars",
    "friendship",
    "losing a grandparent",
    "a cat who becomes mayor",
    "coffee",
    "the last tree on Earth",
    "an old bus driver's last shift",
    "rain on a tin roof",
    "a detective who can hear thoughts",
    "moving to a new country",
    "a haunted library",
    "the smell of bread",
    "two rival chefs",
    "a spaceship crew that forgets why they left",
    "my dog",
    "winter in {city}",
    "the moon",
    "a broken violin",
    "a kingdom under the sea",
)
_FORMS = (
    "a short story",
    "a poem",
    "a haiku",
    "a limerick",
    "a sonnet",
    "song lyrics",
    "a fairy tale",
    "a bedtime story",
    "a free-verse poem",
    "a scene of a screenplay",
    "a flash fiction piece",
    "a fable with a moral",
    "a rap verse",
    "a children's story",
    "a ballad",
    "a two-sentence horror story",
)
_STYLES = (
    "",
    "",
    " in the style of Edgar Allan Poe",
    " that rhymes",
    " with a twist ending",
    " for kids",
    " in under 200 words",
    " from the point of view of {subject2}",
    " with a hopeful ending",
    " in a noir style",
)

_PRODUCTS = (
    "an eco-friendly water bottle",
    "a coffee shop in {city}",
    "a fitness app",
    "a dog-walking service",
    "a bakery",
    "a cybersecurity startup",
    "an electric bike",
    "a vegan restaurant",
    "a language-learning podcast",
    "a bookstore",
    "a travel agency",
    "a plant nursery",
)
_EMAILS = (
    "to my manager asking for a day off next Friday",
    "to a client apologizing for a delayed delivery",
    "inviting the team to a farewell party",
    "to my landlord about a broken heater",
    "to a professor asking for a recommendation letter",
    "declining a job offer politely",
    "following up after a job interview",
    "to a customer announcing a price increase",
    "thanking a colleague for their help on a project",
    "asking my team lead to look over my slides before Monday",
    "to my neighbour about their noisy dog",
    "cold-pitching our design services to a startup",
)
_ROLES = (
    "a ship's cook",
    "a famous detective",
    "a museum night guard",
    "a grumpy wizard",
    "a travel guide in {city}",
    "a job interviewer for a software company",
    "a customer who wants a refund",
    "a lighthouse keeper",
    "a stand-up comedian",
    "a noir detective",
    "my supportive football coach",
    "a 1950s radio host",
)


def _subject(rng: random.Random) -> str:
    return fill(rng, rng.choice(_SUBJECTS), city=CITIES)


def _story(rng: random.Random) -> str:
    return fill(
        rng,
        rng.choice(
            (
                "Write {form} about {subject}{style}.",
                "write me {form} about {subject}",
                "Can you write {form} about {subject}?",
                "Compose {form} about {subject}{style}.",
                "Tell me a story about {subject}.",
                "I want {form} about {subject}. Make it{ funny| sad| dramatic| whimsical}.",
                "Create {form} featuring {subject}{style}.",
                "{form} about {subject}, please",
                'Write a story that begins with the sentence: "{opening}"',
                "Continue this story: {opening}",
                "Write a {short|500-word|long} story where {name} discovers {subject}.",
                "Write a poem about {topic}.",
                "Give me a haiku about {topic}.",
            )
        ),
        form=_FORMS,
        subject=_subject,
        subject2=_subject,
        style=lambda r: fill(r, r.choice(_STYLES), subject2=_subject),
        name=NAMES,
        topic=TOPICS,
        opening=(
            "The door had been locked for a hundred years.",
            "Nobody in town noticed when the clocks stopped.",
            "She woke up speaking a language she had never learned.",
            "It was the kind of rain that made people tell the truth.",
        ),
    )


def _marketing(rng: random.Random) -> str:
    return fill(
        rng,
        rng.choice(
            (
                "Come up with a catchy slogan for {product}.",
                "Give me {n} tagline ideas for {product}.",
                "Write a product description for {product}.",
                "Write an Instagram caption for {product}.",
                "Brainstorm names for {product}.",
                "Write a radio ad script for {product}.",
                "Write a short, persuasive Facebook ad for {product}.",
                "I'm launching {product}. Suggest {n} creative marketing campaign ideas.",
                "Write a tweet announcing {product}.",
                "Write a jingle for {product}.",
            )
        ),
        product=lambda r: fill(r, r.choice(_PRODUCTS), city=CITIES),
        n=("5", "10", "three", "a few"),
    )


def _email(rng: random.Random) -> str:
    return fill(
        rng,
        rng.choice(
            (
                "Write an email {e}.",
                "Draft a {professional|friendly|formal|short} email {e}.",
                "help me write an email {e}",
                "Can you compose a message {e}?",
                "Write a letter {e}.",
                "Write a cover letter for a {job} position.",
                "Write a LinkedIn post about {achievement}.",
                "Write a thank-you note to {name} for {gift}.",
            )
        ),
        e=_EMAILS,
        job=("junior data analyst", "nurse", "marketing manager", "software engineer", "barista", "teacher"),
        achievement=("finishing my master's degree", "my first marathon", "our company's tenth anniversary"),
        name=NAMES,
        gift=("the birthday present", "hosting us last weekend", "the lovely flowers"),
    )


def _essay(rng: random.Random) -> str:
    return fill(
        rng,
        rng.choice(
            (
                "Write an essay about {topic}.",
                "Write a {500|1000|300}-word essay on the impact of {topic} on society.",
                "Write a persuasive essay arguing that {claim}.",
                "Write a travel diary entry about three rainy days in {city}.",
                "Write a blog post about {topic} for beginners.",
                "Write a speech for my sister's wedding.",
                "Write a toast for my parents' 30th anniversary.",
                "Write a motivational speech for a football team before the final.",
                "Draft an opening paragraph for a novel set in {city}.",
                "Write a eulogy for my grandfather, who loved fishing and jazz.",
                "Write a short op-ed about {topic}.",
                "Write a personal statement for a university application in {field}.",
                "Write a dialogue between {name} and {name2} arguing about {topic}.",
                "Write the lyrics of a song about {topic}.",
                "Write a review of an imaginary restaurant in {city}.",
            )
        ),
        topic=TOPICS,
        city=CITIES,
        name=NAMES,
        name2=NAMES,
        field=("biology", "computer science", "economics", "architecture"),
        claim=(
            "schools should start later",
            "homework should be banned",
            "cities should ban cars from their centers",
            "everyone should learn to cook",
        ),
    )


def _roleplay(rng: random.Random) -> str:
    return fill(
        rng,
        rng.choice(
            (
                "Pretend you are {role}. Stay in character and greet me.",
                "Let's roleplay: you are {role} and I am a lost traveler. Begin.",
                "Act as {role}. {name} walks in. What do you say?",
                'I want you to act as {role}. Respond only as that character. My first line is: "Where am I?"',
                "From now on you are {role}. Introduce yourself.",
                "Imagine you are {role}. Describe your typical day in the first person.",
                "Roleplay as {role} giving me advice about my first day at work.",
                "You are {role}. Write a monologue about the sea.",
            )
        ),
        role=lambda r: fill(r, r.choice(_ROLES), city=CITIES),
        name=NAMES,
    )


def _brainstorm(rng: random.Random) -> str:
    return fill(
        rng,
        rng.choice(
            (
                "Brainstorm {n} ideas for a {occasion}.",
                "Give me {n} creative ideas for {activity}.",
                "What are some fun names for {named}?",
                "Suggest {n} themes for a {occasion}.",
                "List {n} original gift ideas for {person}.",
                "Help me brainstorm plot ideas for a {genre} novel.",
                "Come up with {n} names for {named}.",
                "Invent a new board game and describe its rules.",
                "Invent a superhero whose power is {power}.",
                "Think of {n} unusual uses for {object}.",
                "Give me {n} prompts for a creative writing class.",
                "Create a riddle whose answer is '{object}'.",
                "Make up a joke about {topic}.",
                "Tell me a joke about programmers.",
            )
        ),
        n=("5", "10", "20", "three", "some"),
        occasion=(
            "birthday party",
            "team-building day",
            "wedding",
            "school fundraiser",
            "podcast",
            "YouTube channel",
        ),
        activity=(
            "a rainy weekend with kids",
            "a first date",
            "a science fair project",
            "decorating a small flat",
        ),
        named=("a golden retriever", "a fantasy kingdom", "a food truck", "my band", "a sailing boat"),
        person=("my dad", "a coworker", "a teenager who loves space", "my grandmother"),
        genre=("fantasy", "science fiction", "mystery", "romance", "horror"),
        power=("talking to plants", "slowing down time", "speaking every language"),
        object=("a paperclip", "a brick", "an old umbrella", "a shadow"),
        topic=TOPICS,
    )


def _foreign(rng: random.Random) -> str:
    return fill(
        rng,
        rng.choice(
            (
                "Escribe un poema sobre {es}.",
                "Écris une courte histoire sur {fr}.",
                "Schreibe ein Gedicht über {de}.",
                "Escreva uma história curta sobre {pt}.",
                "写一首关于月亮的诗。",
                "Scrivi una poesia sull'amore.",
                "Crea un eslogan para una panadería.",
                "Rédige un e-mail pour inviter mes collègues à un pot de départ.",
            )
        ),
        es=("el mar", "la amistad", "el otoño"),
        fr=("un chat perdu", "la pluie", "un voyage en train"),
        de=("den Winter", "die Liebe", "den Wald"),
        pt=("um robô", "o mar", "uma cidade mágica"),
    )


GENERATORS = (
    (_story, 6),
    (_marketing, 2.5),
    (_email, 3),
    (_essay, 3),
    (_roleplay, 2),
    (_brainstorm, 3),
    (_foreign, 0.8),
)

FOLLOW_UPS = (
    "Make it funnier.",
    "Now make it rhyme.",
    "Write another one, darker this time.",
    "Can you make it shorter and more dramatic?",
    "Add a twist at the end.",
    "Now write it from the villain's point of view.",
)
SYSTEMS = (
    "You are a creative writer.",
    "You are a poet who loves vivid imagery.",
    "You are a copywriter for a marketing agency.",
    "You are a storyteller for children.",
)

"""Prompts that work on a text they supply: summarize, extract from, rewrite, translate or classify it."""

from __future__ import annotations

import random

from routerapp.optimizer.training.common import CITIES, NAMES, document, fill

_SHORT_TEXTS = (
    "The hotel room was clean but the staff were rude and breakfast was cold.",
    "Absolutely loved this movie, the acting was superb!",
    "Worst customer service I have ever experienced. Never again.",
    "The package arrived on time and everything works as described.",
    "I can't believe they cancelled the show after one season.",
    "Stocks fell sharply on Tuesday after the central bank raised interest rates.",
    "The team scored twice in the final ten minutes to win the championship.",
    "Scientists have discovered a new species of frog in the rainforest.",
    "The new phone has a brilliant screen, but the battery life is disappointing.",
    "Our flight was delayed for six hours and nobody told us why.",
    "me and him goes to the store yesterday and buyed three apple",
    "The quarterly earnings beat expectations thanks to strong cloud sales.",
    "Just finished my first marathon!!! Legs are dead but so happy",
    "Please reset my password, I can't log in to my account since this morning.",
    "Congratulations! You have won a free cruise. Click the link to claim your prize now.",
    "The council approved the construction of a new bridge across the river.",
    "The food was okay, nothing special, but the view was nice.",
    "I was charged twice for my subscription this month.",
    "{name} will meet the client in {city} on Thursday at 3 pm to sign the contract.",
    "Our meeting is moved to 10:30 tomorrow; please bring the signed forms.",
)
_SENTENCES = (
    "Where is the nearest train station?",
    "I would like to book a table for two at eight o'clock.",
    "The weather is beautiful today.",
    "Could you please send me the invoice by Friday?",
    "My brother works as a nurse in a big hospital.",
    "We are looking forward to meeting you next week.",
    "This product is not available in your country.",
    "Thank you for your patience.",
    "El tren sale a las nueve de la mañana.",
    "Je voudrais un café, s'il vous plaît.",
    "Ich habe meinen Schlüssel verloren.",
    "La reunión se ha cancelado por la lluvia.",
    "Il fait très froid ce matin.",
    "Das Essen war ausgezeichnet.",
    "我明天要去北京出差。",
    "Onde fica a biblioteca?",
)
_LANGS = (
    "French",
    "Spanish",
    "German",
    "Italian",
    "Japanese",
    "Portuguese",
    "Chinese",
    "English",
    "Dutch",
    "Korean",
    "Russian",
    "Arabic",
)


def _text(rng: random.Random) -> str:
    return fill(rng, rng.choice(_SHORT_TEXTS), name=NAMES, city=CITIES)


def _genre(rng: random.Random) -> str | None:
    # Technical documents (incident reports, release notes) are common pastes and full of code words.
    return "tech" if rng.random() < 0.25 else None


def _summarize(rng: random.Random) -> str:
    doc = document(rng, sentences=rng.choice((3, 5, 7, 10, 14, 20, 30)), genre=_genre(rng))
    ask = fill(
        rng,
        rng.choice(
            (
                "Summarize the following {article|text|email|passage|report|meeting notes}{ in {n} sentences| in one sentence| in bullet points| briefly|}:",
                "Summarize this:",
                "Can you give me a summary of this?",
                "TL;DR:",
                "tldr please",
                "Write a one-sentence summary of the text below.",
                "What are the key points of this {article|document|thread}?",
                "Give me the main takeaways from this text.",
                "Condense this into a short paragraph:",
                "Write a headline for this article.",
                "Suggest a title for the following text.",
                "Summarize the article below for a busy executive.",
                "Summarize this incident report for the status page:",
                "Write release notes for users from this changelog:",
                "Summarize this postmortem in three bullet points:",
                "Boil this down to three bullet points:",
                "Read the passage and write a brief abstract.",
                "Create meeting minutes from these notes:",
                "What is this text about? Answer in one sentence.",
                "Give a short synopsis:",
            )
        ),
        n=("two", "three", "5", "2", "3"),
    )
    return _place(rng, ask, doc)


def _place(rng: random.Random, ask: str, doc: str) -> str:
    """Put the instruction before or after the material, the ways people paste documents."""
    style = rng.random()
    if style < 0.45:
        return f"{ask}\n\n{doc}"
    if style < 0.7:
        return f"{doc}\n\n{ask}"
    if style < 0.8:
        return f'{ask}\n"""\n{doc}\n"""'
    if style < 0.9:
        return f"Text: {doc}\n\n{ask}"
    return f"{ask} {doc}"


def _extract(rng: random.Random) -> str:
    doc = document(rng, sentences=rng.choice((2, 4, 6, 9)), genre=_genre(rng))
    ask = rng.choice(
        (
            "Extract all the names of people mentioned in this text.",
            "List every date and number that appears in the passage.",
            "Extract the company names and amounts as JSON.",
            "Pull out the action items from these notes.",
            "From the text below, extract the city, the date and the number of votes.",
            "Find all the email addresses and phone numbers in this message.",
            "Identify the named entities (people, places, organizations) in the following text.",
            "Return a JSON object with the fields name, location and amount from this text.",
            "Which numbers are mentioned in this article? List them with what they refer to.",
            "Extract the key facts as a table with columns: fact, value.",
            "List the main problems the author mentions.",
            "Extract all the keywords from this text.",
        )
    )
    return _place(rng, ask, doc)


def _context_qa(rng: random.Random) -> str:
    doc = document(rng, sentences=rng.choice((3, 5, 8)))
    question = rng.choice(
        (
            "What did the council decide?",
            "Who is responsible for the marketing plan?",
            "How many days did customer service take to answer?",
            "According to the passage, why did shares rise?",
            "What was the sample size of the study?",
            "What does the author think about the battery?",
            "When can construction begin?",
            "What is the budget cap mentioned?",
        )
    )
    return rng.choice(
        (
            f"Read the passage and answer the question.\n\nPassage: {doc}\n\nQuestion: {question}",
            f"Context: {doc}\nQuestion: {question}\nAnswer:",
            f"{doc}\n\nBased on the text above, {question[0].lower()}{question[1:]}",
            f"Answer using only the document below. {question}\n\n{doc}",
            f"Article: {doc}\n\nQ: {question}",
        )
    )


def _rewrite(rng: random.Random) -> str:
    text = _text(rng) if rng.random() < 0.6 else document(rng, sentences=rng.choice((2, 3, 5)))
    ask = rng.choice(
        (
            "Rewrite this to sound more professional:",
            "Fix the grammar and spelling:",
            "Paraphrase the following paragraph:",
            "Make this more concise:",
            "Rewrite this in plain English:",
            "Proofread this text:",
            "Rephrase this sentence in a friendlier tone:",
            "Correct any mistakes in the following text.",
            "Make this email sound more polite:",
            "Simplify this text for a 10-year-old:",
            "Turn these notes into a formal paragraph:",
            "Rewrite the text below in the passive voice.",
            "Convert this paragraph into bullet points:",
            "Improve the flow of this paragraph:",
            "Shorten this to under 50 words:",
            "Edit this for clarity:",
        )
    )
    return _place(rng, ask, text)


def _translate(rng: random.Random) -> str:
    sentence = (
        rng.choice(_SENTENCES) if rng.random() < 0.7 else document(rng, sentences=rng.choice((1, 2, 3)))
    )
    lang = rng.choice(_LANGS)
    return fill(
        rng,
        rng.choice(
            (
                "Translate to {lang}: {s}",
                "Translate the following into {lang}:\n\n{s}",
                'translate "{s}" into {lang}',
                'How do you say "{s}" in {lang}?',
                "{s}\n\nTranslate this to {lang}.",
                "Can you translate this text from English to {lang}? {s}",
                'What does "{s}" mean in English?',
                "Please translate: {s}",
                "Traduce al inglés: {s}",
                "Traduis en anglais : {s}",
                "Übersetze ins Englische: {s}",
                "{lang} translation of: {s}",
            )
        ),
        lang=lang,
        s=sentence,
    )


def _classify(rng: random.Random) -> str:
    text = _text(rng)
    return fill(
        rng,
        rng.choice(
            (
                "Classify the sentiment of this review as positive, negative or neutral: {t}",
                "Customer feedback: {t}\nHappy or unhappy customer?",
                'Is the following text spam or not spam? "{t}"',
                "What is the sentiment of this tweet? {t}",
                "Categorize this message into one of: billing, technical, shipping, other.\n\n{t}",
                "Put this headline in a section of the newspaper (politics, sport, money, science):\n{t}",
                "Label the emotion in this sentence (joy, anger, sadness, fear, surprise): {t}",
                "{t}\nWas the person satisfied? One word.",
                "Sentence: {t}\nSentiment:",
                "Classify the intent of this customer message: {t}",
                'Check whether this sentence has grammar errors and label it correct or incorrect: "{t}"',
                "On a 1-5 scale, how positive is this text? {t}",
                "Tag each of these texts with a category:\n1. {t}\n2. {t2}",
                "Determine whether the tone of this email is formal or informal: {t}",
                "Is this statement a fact or an opinion? {t}",
                "Compare these and tell me if they say the same thing:\n- {t}\n- {t2}",
                'Label the pair as same-meaning or different-meaning: "{t}" / "{t2}"',
                "Which language is this text written in? {s}",
                "Detect the language: {s}",
            )
        ),
        t=text,
        t2=_text,
        s=_SENTENCES,
    )


def _long_doc(rng: random.Random) -> str:
    # A long pasted document (up to several thousand characters) with the ask at either end.
    genre = _genre(rng)
    doc = "\n\n".join(
        document(rng, sentences=rng.choice((6, 10, 14)), genre=genre) for _ in range(rng.randint(2, 5))
    )
    ask = rng.choice(
        (
            "Summarize the document above.",
            "Please summarize the following report in five bullet points.",
            "Give me an executive summary of this.",
            "Extract the main decisions from this transcript.",
            "What are the three most important points here?",
            "Translate this document into Spanish.",
            "Rewrite this report in simpler language.",
        )
    )
    return _place(rng, ask, doc)


def _foreign(rng: random.Random) -> str:
    doc = document(rng, sentences=rng.choice((3, 5, 8)))
    ask = rng.choice(
        (
            "Resume el siguiente texto en tres frases:",
            "Fais un résumé de ce texte :",
            "Fasse den folgenden Text zusammen:",
            "Resuma o texto abaixo:",
            "请总结以下文章：",
            "Riassumi questo articolo:",
            "Extrae los nombres de las personas del siguiente texto:",
            "Corrige les fautes de ce texte :",
        )
    )
    return _place(rng, ask, doc)


GENERATORS = (
    (_summarize, 6),
    (_extract, 2.5),
    (_context_qa, 2),
    (_rewrite, 3),
    (_translate, 3),
    (_classify, 4),
    (_long_doc, 1.5),
    (_foreign, 0.8),
)

FOLLOW_UPS = (
    "Make it shorter.",
    "Now in bullet points, please.",
    "Can you translate that summary into German?",
    "Shorter, one sentence.",
)
SYSTEMS = (
    "You are a summarization assistant. Be faithful to the source.",
    "You are a professional translator.",
    "You are an information extraction system. Output JSON only.",
    "You are a sentiment classifier. Answer with one label.",
    "You are an editor. Improve the user's text without changing its meaning.",
)

# The system prompt says what to do and the user sends only the material.
SYSTEM_LED = (
    "You are a translator. Translate the user's text into {lang}.",
    "Translate everything the user writes into {lang}.",
    "Summarize whatever the user sends in one or two sentences.",
    "You write TL;DRs of the texts users paste.",
    "Classify each message as positive, negative or neutral.",
    "You label support messages as billing, technical or other.",
    "Extract all names, dates and amounts from the user's message as JSON.",
    "Correct the grammar and spelling of the user's text. Reply with the corrected text only.",
    "Rewrite the user's text in a formal register.",
)


def material(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.35:
        return rng.choice(_SENTENCES)
    if roll < 0.65:
        return _text(rng)
    return document(rng)

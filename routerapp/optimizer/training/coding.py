"""Prompts about code: write, fix, explain, convert or review code, SQL, regexes and shell."""

from __future__ import annotations

import random

from routerapp.optimizer.training.common import LANGUAGES, SNIPPETS, fill

_TASKS = (
    "reverses a string",
    "checks whether a number is prime",
    "merges two sorted lists into one sorted list",
    "removes duplicates from a list while keeping the order",
    "counts the vowels in a string",
    "returns the n-th Fibonacci number",
    "finds the longest common prefix of a list of strings",
    "flattens a nested list",
    "parses a CSV file and returns the rows as dictionaries",
    "validates an email address",
    "computes the factorial of n recursively",
    "finds the second largest element in an array",
    "converts a Roman numeral to an integer",
    "checks if two strings are anagrams",
    "rotates a matrix by 90 degrees",
    "implements binary search on a sorted array",
    "returns all permutations of a string",
    "groups words by their first letter",
    "reads a JSON file and prints the keys",
    "downloads a web page and counts the links on it",
    "finds the maximum sum of a contiguous subarray",
    "checks whether a string of brackets is balanced",
    "sorts a list of tuples by the second element",
    "returns the k most frequent words in a text",
    "converts Celsius to Fahrenheit",
    "computes the greatest common divisor of two integers",
    "finds the shortest path in a weighted graph",
    "detects a cycle in a linked list",
    "serializes a binary tree to a string",
    "implements an LRU cache",
    "splits a list into chunks of size n",
    "returns the sum of the digits of an integer",
    "checks whether a year is a leap year",
    "finds all files larger than 100 MB in a directory",
    "capitalizes the first letter of every word",
    "computes a moving average over a list of numbers",
    "retries an HTTP request with exponential backoff",
    "counts how many times each character appears",
    "checks whether a binary tree is balanced",
    "transposes a matrix",
    "finds the intersection of two lists",
    "returns the index of the first non-repeating character",
    "converts a decimal number to binary",
    "validates a Sudoku board",
    "implements a queue with two stacks",
)
_ARTIFACTS = (
    "function",
    "script",
    "program",
    "class",
    "method",
    "snippet",
    "CLI tool",
    "unit test",
    "REST endpoint",
    "React component",
    "lambda",
    "module",
)
_SQL = (
    "returns the ten customers with the highest total spending",
    "lists employees who earn more than their managers",
    "counts orders per month for the last year",
    "finds duplicate email addresses in the users table",
    "joins the orders and products tables and shows the revenue per category",
    "deletes rows older than 30 days from the logs table",
    "returns the second highest salary",
    "shows each department with its average salary",
)
_REGEX = (
    "matches a valid IPv4 address",
    "extracts all hashtags from a tweet",
    "matches dates in the format YYYY-MM-DD",
    "validates a US phone number",
    "finds words that start with a capital letter",
    "matches a hex colour code",
    "strips HTML tags",
)
_SHELL = (
    "renames all .jpeg files in a folder to .jpg",
    "finds the 10 largest files under my home directory",
    "counts the lines in every Python file of a project",
    "kills the process listening on port 8080",
    "backs up a directory to a tar.gz file with today's date in the name",
    "prints the most common IP addresses in an nginx access log",
)
_CONCEPTS = (
    "a closure in JavaScript",
    "the difference between a list and a tuple in Python",
    "how async/await works in {lang}",
    "what a race condition is and how to avoid it",
    "the difference between an abstract class and an interface in Java",
    "how garbage collection works in Go",
    "what Big O notation means for this loop",
    "the difference between `==` and `===` in JavaScript",
    "what a Python decorator is, with an example",
    "how Rust's borrow checker prevents data races",
    "the difference between INNER JOIN and LEFT JOIN",
    "when to use a hash map instead of an array",
    "what dependency injection is",
    "how to structure a Django project",
    "the difference between processes and threads",
    "what a pointer is in C",
    "how React hooks work",
    "what `git rebase` does compared with `git merge`",
)
_FIXES = (
    "Why does this code throw an error?",
    "Fix the bug in this code:",
    "This doesn't work, what am I doing wrong?",
    "Can you find the off-by-one error here?",
    "Refactor this to be more readable:",
    "Review this code and suggest improvements:",
    "Add type hints and docstrings to this:",
    "Write unit tests for this function:",
    "What does this code do?",
    "Explain this line by line:",
    "Optimize this for speed:",
    "Convert this to {lang}:",
    "Translate this code into {lang}:",
    "Why is this so slow?",
    "I get this error, how do I fix it?",
    "Make this code thread-safe:",
    "Rewrite this using list comprehensions:",
    "Is there a memory leak here?",
)
_SIGNATURE_NAMES = (
    ("count_upper", "s: str", "int", "Return how many uppercase letters the string contains."),
    ("pairwise_diff", "nums: list[int]", "list[int]", "Return the differences between consecutive numbers."),
    ("is_palindrome", "text: str", "bool", "Check whether text reads the same backwards, ignoring case."),
    ("top_k", "items: list[int], k: int", "list[int]", "Return the k largest items in descending order."),
    ("normalize_path", "path: str", "str", "Collapse repeated slashes and resolve '..' segments."),
    ("chunk", "seq: list, size: int", "list[list]", "Split seq into consecutive chunks of the given size."),
    ("digits_sum", "n: int", "int", "Return the sum of the decimal digits of n."),
    (
        "closest_pair",
        "points: list[float]",
        "tuple[float, float]",
        "Return the two closest values, smaller first.",
    ),
    ("word_lengths", "sentence: str", "dict[str, int]", "Map each word of the sentence to its length."),
    ("rle_encode", "s: str", "str", "Run-length encode the string, e.g. 'aaab' becomes 'a3b1'."),
)


def _lang(rng: random.Random) -> str:
    return rng.choice(LANGUAGES)


def _write(rng: random.Random) -> str:
    return fill(
        rng,
        rng.choice(
            (
                "Write a {lang} {artifact} that {task}.",
                "write a {lang} function that {task}",
                "Can you write {a|some} {lang} code that {task}?",
                "I need a {artifact} in {lang} that {task}. Please include comments.",
                "Implement a function that {task}.",
                "Write a function to {task_inf}.",
                "How do I write a {lang} function that {task}?",
                "Create a {lang} {artifact} which {task}, and explain how it works.",
                "{lang}: {artifact} that {task}",
                "Give me {lang} code that {task}. No explanations, just the code.",
                "Please implement, in {lang}, a {artifact} that {task}. Handle edge cases.",
                "Write a {artifact} that {task} and add a few test cases.",
                "Show me how to write a program that {task}.",
                "Code a solution that {task} in O(n) time if possible.",
                "Develop a {lang} program that {task} and prints the result.",
            )
        ),
        lang=_lang,
        artifact=_ARTIFACTS,
        task=_TASKS,
        task_inf=[_to_infinitive(t) for t in _TASKS],
    )


def _to_infinitive(task: str) -> str:
    verb, _, rest = task.partition(" ")
    base = (
        verb[:-2] if verb.endswith("es") and verb[-3] in "sxhz" else verb[:-1] if verb.endswith("s") else verb
    )
    return f"{base} {rest}"


def _sql(rng: random.Random) -> str:
    return fill(
        rng,
        rng.choice(
            (
                "Write a SQL query that {q}.",
                "sql query that {q}",
                "How can I write a {PostgreSQL|MySQL|SQLite} query that {q}?",
                "Given tables users(id, name, email) and orders(id, user_id, total, created_at), write a query that {q}.",
                "I have a table employees(id, name, salary, manager_id, dept). Write SQL that {q}.",
            )
        ),
        q=_SQL,
    )


def _regex(rng: random.Random) -> str:
    return fill(
        rng,
        rng.choice(
            (
                "Write a regex that {r}.",
                "regular expression that {r}",
                "What regex {r}? I'm using {lang}.",
                "Give me a regular expression which {r}, and explain each part.",
            )
        ),
        r=_REGEX,
        lang=_lang,
    )


def _shell(rng: random.Random) -> str:
    return fill(
        rng,
        rng.choice(
            (
                "Write a bash script that {s}.",
                "What's the shell command that {s}?",
                "one-liner that {s}",
                "How do I write a PowerShell script that {s}?",
                "Give me a Linux command which {s}.",
            )
        ),
        s=_SHELL,
    )


def _concept(rng: random.Random) -> str:
    concept = fill(rng, rng.choice(_CONCEPTS), lang=_lang)
    return fill(
        rng,
        rng.choice(
            (
                "Explain {c}.",
                "Can you explain {c}?",
                "ELI5: {c}",
                "I don't understand {c}. Help?",
                "Explain {c} with a code example.",
            )
        ),
        c=concept,
    )


def _with_snippet(rng: random.Random) -> str:
    snippet = rng.choice(SNIPPETS)
    ask = fill(rng, rng.choice(_FIXES), lang=_lang)
    fence = rng.choice(("```\n{s}\n```", "```{l}\n{s}\n```", "{s}", "{s}"))
    block = fence.replace(
        "{l}", rng.choice(("python", "js", "sql", "bash", "java", "rust", "go", ""))
    ).replace("{s}", snippet)
    return rng.choice((f"{ask}\n\n{block}", f"{block}\n\n{ask}", f"{ask}\n{block}"))


def _signature(rng: random.Random) -> str:
    name, args, returns, doc = rng.choice(_SIGNATURE_NAMES)
    example = f"    >>> {name}(...)\n" if rng.random() < 0.5 else ""
    head = "from typing import List\n\n\n" if rng.random() < 0.3 else ""
    text = f'{head}def {name}({args}) -> {returns}:\n    """{doc}\n{example}    """\n'
    if rng.random() < 0.4:
        text = (
            rng.choice(("Complete this function:\n\n", "Finish the implementation.\n", "Fill in the body:\n"))
            + text
        )
    return text


def _assert_style(rng: random.Random) -> str:
    task = _to_infinitive(rng.choice(_TASKS))
    return fill(
        rng,
        "{Write|Implement} a {python |}function to {t}. It must satisfy:\nassert {f}({a}) == {b}",
        t=task,
        f=("solve", "func", "check", "find_it", "process"),
        a=("[1, 2, 3]", "'abc'", "10", "[3, 1, 2], 2"),
        b=("6", "True", "'cba'", "[1, 2]"),
    )


def _misc(rng: random.Random) -> str:
    return fill(
        rng,
        rng.choice(
            (
                "How do I read a file line by line in {lang}?",
                "how to sort a dictionary by value in python",
                "What's the best way to handle errors in {lang}?",
                "How do I center a div in CSS?",
                "How can I make an HTTP POST request in {lang}?",
                "My Docker container exits immediately after starting. How do I debug it?",
                "How do I undo the last git commit but keep the changes?",
                "How to connect to a PostgreSQL database from {lang}?",
                "Write a Dockerfile for a Node.js app.",
                "Set up a GitHub Actions workflow that runs pytest on every push.",
                'Convert this JSON to a TypeScript interface: {"id": 1, "name": "a", "tags": ["x"]}',
                "Write a Python class for a bank account with deposit and withdraw methods.",
                "Create an HTML page with a form that has name and email fields.",
                "Write a unit test in pytest for a function that adds two numbers.",
                "How do I paginate results in a Django REST API?",
                "What is the time complexity of quicksort and why?",
                "Implement the merge sort algorithm in {lang}.",
                "Write a function in {lang} to detect a palindrome.",
                "How do I use pandas to drop rows with missing values?",
                "Build a simple todo app in React with add and delete.",
                "Generate a Python script that renames files using a regex.",
                "npm install fails with EACCES permission denied, what should I do?",
                "Write a Kubernetes deployment YAML for an nginx container with 3 replicas.",
                "Explain what this regex does: ^(?=.*\\d)(?=.*[a-z]).{{8,}}$",
                "Write a Makefile with build, test and clean targets.",
                "Write a recursive function in {lang} to compute the power set of a list.",
                "Why do I get 'undefined is not a function' in my JavaScript?",
                "Write a Python script to scrape the titles from a web page with BeautifulSoup.",
            )
        ),
        lang=_lang,
    )


GENERATORS = (
    (_write, 6),
    (_sql, 2),
    (_regex, 1),
    (_shell, 1),
    (_concept, 2),
    (_with_snippet, 4),
    (_signature, 1.5),
    (_assert_style, 1),
    (_misc, 3),
)

FOLLOW_UPS = (
    "Now add error handling.",
    "Can you add comments to it?",
    "Make it faster.",
    "Rewrite it in {lang}.",
    "What is the time complexity of that?",
    "It fails on an empty list, fix it.",
    "Add unit tests for it.",
)

SYSTEMS = (
    "You are an expert software engineer.",
    "You are a senior {lang} developer. Answer with code.",
    "You are a coding assistant. Always return one fenced code block.",
    "You are a helpful programming tutor.",
)

SYSTEM_LED = (
    "You are a code reviewer. Review the code the user sends and list problems.",
    "Explain the code the user pastes, line by line.",
    "Convert any code the user sends to {lang}.",
    "Add docstrings and type hints to the code the user sends.",
)


def material(rng: random.Random) -> str:
    return rng.choice(SNIPPETS)

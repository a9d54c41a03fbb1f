"""The simulated models of the learned-routing benchmark and replay workload.

A cheap model as good as the expensive one on half the task types (creative, summarization, qa),
a mid-priced one as good on code and reasoning, and an expensive one good at everything. Prices in
USD per million tokens (input, output). `quality` is the simulated provider's option: the chance an
answer is good, per task type ("question" is the detector's name for qa until it says "qa").
"""

from __future__ import annotations

MODELS = {
    "small": {
        "price": (0.15, 0.6),
        "quality": {
            "creative": 0.9,
            "summarization": 0.9,
            "qa": 0.9,
            "question": 0.9,
            "code": 0.3,
            "math": 0.3,
            "reasoning": 0.35,
            "default": 0.5,
        },
    },
    "medium": {
        "price": (1.0, 4.0),
        "quality": {
            "code": 0.9,
            "reasoning": 0.9,
            "math": 0.6,
            "creative": 0.75,
            "summarization": 0.8,
            "qa": 0.8,
            "question": 0.8,
            "default": 0.7,
        },
    },
    "large": {
        "price": (5.0, 15.0),
        "quality": {"default": 0.92},
    },
}

"""Seed one OptimizerTemplate per task type: the system guidance and parameter defaults the
optimizer's `instructions` and `params` strategies start from (editable in the admin)."""

from django.db import migrations

TEMPLATES = {
    "code": (
        "You are an expert programmer. Answer with working code in one fenced code block, with the "
        "language named on the fence, then at most a short explanation.",
        0.2,
        None,
    ),
    "math": (
        "Reason step by step, showing the calculation, and end with a line of the form "
        "'Final answer: <answer>'.",
        0.0,
        None,
    ),
    "reasoning": (
        "Think the problem through step by step, state your assumptions, check the result against "
        "every condition given, then give a clear final answer.",
        0.3,
        None,
    ),
    "creative": (
        "Write original, vivid text in the form and tone asked for; do not explain the piece unless asked.",
        0.9,
        None,
    ),
    "summarization": (
        "Work only from the text supplied: do not add facts. Keep names, numbers and dates exact, and "
        "follow the requested length and format.",
        0.2,
        None,
    ),
    "qa": ("Answer accurately and concisely; say so when you are not sure.", 0.5, None),
}


def seed(apps, schema_editor):
    OptimizerTemplate = apps.get_model("routerapp", "OptimizerTemplate")
    for task_type, (instructions, temperature, top_p) in TEMPLATES.items():
        OptimizerTemplate.objects.get_or_create(
            task_type=task_type,
            defaults={"instructions": instructions, "temperature": temperature, "top_p": top_p},
        )


def unseed(apps, schema_editor):
    apps.get_model("routerapp", "OptimizerTemplate").objects.filter(task_type__in=TEMPLATES).delete()


class Migration(migrations.Migration):
    dependencies = [("routerapp", "0005_optimizer")]
    operations = [migrations.RunPython(seed, unseed)]

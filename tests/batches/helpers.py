"""Building batch input files and reading batch output files, as a client of the Batch API would."""

from __future__ import annotations

import json

import openai


def request_line(custom_id: str, model: str, text: str = "Say hi", **body) -> dict:
    return {
        "custom_id": custom_id,
        "method": "POST",
        "url": "/v1/chat/completions",
        "body": {"model": model, "messages": [{"role": "user", "content": text}], **body},
    }


def jsonl(lines: list[dict]) -> bytes:
    return "".join(json.dumps(line) + "\n" for line in lines).encode()


def parse_jsonl(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def upload_and_create(client: openai.OpenAI, lines: list[dict], **kwargs):
    file = client.files.create(file=("input.jsonl", jsonl(lines)), purpose="batch")
    return client.batches.create(
        input_file_id=file.id, endpoint="/v1/chat/completions", completion_window="24h", **kwargs
    )


def results(client: openai.OpenAI, batch) -> tuple[list[dict], list[dict]]:
    output = parse_jsonl(client.files.content(batch.output_file_id).text) if batch.output_file_id else []
    failed = parse_jsonl(client.files.content(batch.error_file_id).text) if batch.error_file_id else []
    return output, failed


def worker_thread(batch_id: str):
    """Run the batch's task in a thread of this process (as a django-q2 worker would, in its own)."""
    import threading

    from django.db import connection

    from routerapp.tasks import run_batch

    def work() -> None:
        try:
            run_batch(batch_id)
        finally:
            connection.close()  # this thread's own; django-q2 closes its workers' itself

    thread = threading.Thread(target=work, name=f"worker-{batch_id}")
    thread.start()
    return thread

"""`manage.py ask MODEL "prompt"`: one request from the shell through route(), streamed."""

from __future__ import annotations

import asyncio

from django.core.management.base import CommandError

from routerapp import errors
from routerapp.management.base import RouterCommand
from routerapp.observability.writer import writer
from routerapp.providers import closing_clients
from routerapp.routing.interactive import Summary, converse
from routerapp.validation import chat_request


class Command(RouterCommand):
    help = (
        "Send one chat request through the router and stream the answer to stdout; then print who "
        "answered, the attempts, latency, tokens and cost (to stderr). It is recorded in the history."
    )

    def add_arguments(self, parser):
        parser.add_argument("model", help="A model or ensemble name from the config.")
        parser.add_argument("prompt", help="The user message.")
        parser.add_argument("--system", default="", help="A system prompt.")
        parser.add_argument("--temperature", type=float, default=None)
        parser.add_argument("--max-tokens", type=int, default=None)

    def handle(self, *args, model: str, prompt: str, system: str, temperature, max_tokens, **options):
        messages = [{"role": "system", "content": system}] if system else []
        messages.append({"role": "user", "content": prompt})
        data = {"model": model, "messages": messages, "stream": True}
        if temperature is not None:
            data["temperature"] = temperature
        if max_tokens is not None:
            data["max_tokens"] = max_tokens
        try:
            chat = chat_request(data)
        except errors.RouterError as exc:
            raise CommandError(exc.message) from None
        try:
            summary = asyncio.run(closing_clients(self._stream(chat)))
        finally:
            writer.flush()  # the history record is written before the command exits
        self.stdout.write("")
        if summary.status == "error":
            raise CommandError(
                f"{summary.error_type}: {summary.error_message} (request {summary.request_id})"
            )
        self._report(summary)

    async def _stream(self, chat) -> Summary:
        async for piece in converse(chat):
            if isinstance(piece, Summary):
                return piece
            self.stdout.write(piece, ending="")
            self.stdout.flush()
        raise AssertionError("converse() always ends with a Summary")

    def _report(self, s: Summary) -> None:
        ttft = f", first token {s.ttft_ms:.0f} ms" if s.ttft_ms is not None else ""
        self.stderr.write(f"deployment  {s.deployment}")
        if len(s.attempts) > 1:
            self.stderr.write(f"attempts    {s.path}")
        self.stderr.write(f"latency     {s.latency_ms:.0f} ms{ttft}")
        self.stderr.write(f"tokens      {s.prompt_tokens} in, {s.completion_tokens} out")
        self.stderr.write(f"cost        ${s.cost_usd:.6f}")
        self.stderr.write(f"request     {s.request_id}")

"""The base of this project's management commands: a bad argument is one line, not a usage dump.

argparse prints the whole usage block before its error; from the shell our commands print only
`manage.py NAME: error: REASON (see --help)` and exit 2. Through call_command the error is a
CommandError, as Django's own parser does.
"""

from __future__ import annotations

import argparse

from django.core.management.base import BaseCommand, CommandError, CommandParser


class OneLineErrorParser(CommandParser):
    def error(self, message: str):
        if self.called_from_command_line:
            self.exit(2, f"{self.prog}: error: {message} (see --help)\n")
        raise CommandError(f"Error: {message}")


class RouterCommand(BaseCommand):
    def create_parser(self, prog_name: str, subcommand: str, **kwargs) -> CommandParser:
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        _one_line_errors(parser)
        return parser


def _one_line_errors(parser: argparse.ArgumentParser) -> None:
    # Same parser, one method different: Django builds the CommandParser (and runs add_arguments,
    # which makes any subparsers) itself, with no hook for its class; so swap it afterwards.
    parser.__class__ = OneLineErrorParser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                _one_line_errors(sub)

"""Every command of the project: `--help` says what it does, a bad argument is one line and a
non-zero exit, and each runs for real once as a subprocess."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.core.management import CommandError, get_commands

from tests.helpers import run_command as run

OURS = sorted(name for name, app in get_commands().items() if app == "routerapp")

# One bad invocation per command, and the reason it must print.
BAD = {
    "apikey": (["apikey", "frob"], "invalid choice: 'frob'"),
    "ask": (["ask", "gpt-test"], "required: prompt"),
    "batch": (["batch", "status"], "required: id"),
    "bench": (["bench", "load"], "required: --model"),
    "classify": (["classify", "/nonexistent.jsonl"], "No such file or directory"),
    "demo": (["demo", "--nonsense"], "unrecognized arguments: --nonsense"),
    "exportconfig": (["exportconfig", "/nonexistent/dir/out.yaml"], "cannot write it"),
    "gendata": (["gendata", "--rows", "0"], "--rows must be a positive number"),
    "healthcheck": (["healthcheck", "--timeout", "0"], "--timeout must be a positive number"),
    "importconfig": (["importconfig", "/nonexistent.yaml"], "cannot read it"),
    "providers": (["providers", "test"], "required: name"),
    "prune": (["prune", "--older-than", "soon"], "--older-than must look like 30d"),
    "reencrypt": (["reencrypt", "--nonsense"], "unrecognized arguments: --nonsense"),
    "replay": (["replay", "/nonexistent.jsonl"], "cannot read it"),
    "serve": (["serve", "--port", "eighty"], "invalid int value: 'eighty'"),
    "stats": (["stats", "--window", "3y"], "invalid choice: '3y'"),
}


def test_every_command_has_a_bad_argument_case():
    # A command added without one here fails this test: add its case to BAD.
    assert set(OURS) <= set(BAD), f"no bad-argument case for {sorted(set(OURS) - set(BAD))}"


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_arguments_raise_command_error(name, db):
    args, reason = BAD[name]
    with pytest.raises(CommandError, match=reason.replace("(", r"\(").replace(")", r"\)")):
        run(*args)


def test_help_and_bad_arguments_from_the_shell(shell):
    # Each is a process of its own (~2 s to start Django and the router): two at a time, as the
    # machine has cores for, rather than some sixty seconds of CI one after another.
    bad = [(name, args, reason) for name, (args, reason) in BAD.items() if name in OURS]
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        helps = pool.map(lambda name: shell(name, "--help"), OURS)
        dones = pool.map(lambda case: shell(*case[1]), bad)
        for name, helped in zip(OURS, helps, strict=True):
            assert helped.returncode == 0, (name, helped.stderr)
            assert len(helped.stdout.split("\n\n")[1].strip()) > 20, name  # the description paragraph
        for (name, _, reason), done in zip(bad, dones, strict=True):
            assert done.returncode != 0, name
            lines = done.stderr.strip().splitlines()
            assert len(lines) == 1 and reason in lines[0], (name, done.stderr)


def test_the_config_and_statistics_commands_run_from_the_shell(shell, tmp_path):
    out = tmp_path / "exported.yaml"
    exported = shell("exportconfig", str(out))
    assert exported.returncode == 0 and "name: gpt-test" in out.read_text()
    again = shell("importconfig", str(out))
    assert again.returncode == 0, again.stderr
    assert shell("ask", "gpt-test", "count me").returncode == 0
    stats = shell("stats", "--window", "1h", "--by", "model")
    assert stats.returncode == 0 and "gpt-test" in stats.stdout
    health = shell("healthcheck", "--timeout", "5")
    assert health.returncode == 0 and "unhealthy" in health.stdout  # `down` answers 500
    keys = shell("apikey", "create", "shell-team")
    assert keys.returncode == 0 and keys.stdout.strip().splitlines()[-1].startswith("sk-rt-")
    listing = shell("apikey", "list")
    assert "shell-team" in listing.stdout and shell("apikey", "revoke", "shell-team").returncode == 0
    generated = shell("gendata", "--rows", "200", "--days", "1")
    assert generated.returncode == 0, generated.stderr

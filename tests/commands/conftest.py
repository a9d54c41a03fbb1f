"""Commands run two ways: through call_command against the test database, and as real subprocesses
(`python manage.py ...`) against a scratch SQLite database with the fake upstream configured."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


class Shell:
    def __init__(self, env: dict[str, str]) -> None:
        self.env = env

    def with_env(self, **changes: str) -> Shell:
        return Shell({**self.env, **changes})

    def __call__(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )


@pytest.fixture(scope="session")
def shell(tmp_path_factory, fake_upstream) -> Shell:
    """`manage.py` in a subprocess, on its own migrated database with provider `up` on the fake upstream."""
    folder = tmp_path_factory.mktemp("shell")
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{folder / 'db.sqlite3'}"}
    env.pop("REDIS_URL", None)
    config = folder / "config.yaml"
    config.write_text(
        f"""
providers:
  - name: up
    kind: openai
    base_url: "{fake_upstream.base_url}"
  - name: down
    kind: openai
    base_url: "{fake_upstream.base_url}"
models:
  - name: gpt-test
    deployments:
      - {{provider: up, model: "words=hello_from_the_shell"}}
  - name: broken
    num_retries: 0
    deployments:
      - {{provider: down, model: "err=500"}}
"""
    )
    sh = Shell(env)
    for args in (("migrate", "-v", "0"), ("importconfig", str(config))):
        done = sh(*args)
        assert done.returncode == 0, done.stderr
    return sh

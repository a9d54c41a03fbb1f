"""Load the demo config and hand out demo credentials (what `make run` calls).

Run again, it keeps what it made: the 'demo' key (and the history recorded under it) and the
'admin' password. Both are stored hashed, so to print them again it keeps the raw values in
files only the owner can read (.local/ in the checkout, or --state-dir); when those are missing
or no longer match, it says the credentials are unchanged instead of replacing them.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import CommandError

from routerapp.config import ConfigError, import_config, read_file
from routerapp.management.base import RouterCommand
from routerapp.models import ApiKey, hash_key

DEMO_CONFIG = "examples/demo.yaml"


def read_private(path: Path) -> str:
    return path.read_text().strip() if path.is_file() else ""


def write_private(path: Path, value: str) -> None:
    """Write `value` to a file only its owner may read (0600 from the start, not chmod after)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(value + "\n")


class Command(RouterCommand):
    help = "Import examples/demo.yaml, make the 'demo' API key and the 'admin' login once, and print them."

    def add_arguments(self, parser):
        parser.add_argument("--config", default=DEMO_CONFIG)
        parser.add_argument("--no-admin", action="store_true", help="Do not create the admin login.")
        parser.add_argument(
            "--state-dir",
            default=str(settings.BASE_DIR / ".local"),
            help="Where the raw credentials are kept.",
        )

    def handle(self, *args, config: str, no_admin: bool, state_dir: str, **options):
        try:
            summary = import_config(read_file(config), source=config)
        except ConfigError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"{config}: {summary}")
        state = Path(state_dir)
        key = self.demo_key(state / "demo_key")
        password = None if no_admin else self.admin_password(state / "admin_password")
        base = f"http://{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
        self.stdout.write("")
        self.stdout.write(f"  OpenAI base URL: {base}/v1")
        self.stdout.write(f"  demo API key:    {key}")
        if password:
            self.stdout.write(f"  dashboard:       {base}/dashboard/  (login admin / {password})")
        self.stdout.write("")

    def demo_key(self, path: Path) -> str:
        existing = ApiKey.objects.filter(name="demo").first()
        kept = read_private(path)
        if existing is None:
            _, raw = ApiKey.create_key("demo")
            write_private(path, raw)
            return raw
        if kept and hash_key(kept) == existing.key_hash:
            return kept
        return f"unchanged ({existing.prefix}…; stored hashed: `manage.py apikey create NAME` makes another)"

    def admin_password(self, path: Path) -> str:
        user = get_user_model().objects.filter(username="admin").first()
        kept = read_private(path)
        if user is None:
            password = secrets.token_urlsafe(12)
            get_user_model().objects.create_superuser("admin", "admin@localhost", password)
            write_private(path, password)
            return password
        if kept and user.check_password(kept):
            return kept
        return "unchanged (`manage.py changepassword admin` sets a new one)"

"""Run a snippet in a fresh interpreter under config.settings.production, with a throwaway environment."""

import json
import os
import secrets
import subprocess
import sys
import textwrap
from pathlib import Path

from cryptography.fernet import Fernet

REPO = Path(__file__).resolve().parents[2]


def production_env(tmp_path: Path, **overrides: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "COMEBACK_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.production",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        COMEBACK_ENCRYPTION_KEYS=Fernet.generate_key().decode(),
        DJANGO_ALLOWED_HOSTS="comeback.example.com",
        DJANGO_STATIC_ROOT=str(tmp_path),
        COMEBACK_PUBLIC_URL="https://comeback.example.com",
    )
    for key, value in overrides.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def run_python(code: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], cwd=REPO, env=env, capture_output=True, text=True, timeout=60
    )


def production_json(code: str, env: dict[str, str]):
    """Run `code` after django.setup(); it prints one JSON document, which is returned."""
    done = run_python("import django\ndjango.setup()\n" + textwrap.dedent(code), env)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])

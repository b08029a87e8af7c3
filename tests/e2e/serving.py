"""Running `reauth-bot` as a deployer does: a subprocess configured by its environment alone."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from bot.demo.stage import DATASET


def serve_env(folder: Path, **settings: str) -> dict[str, str]:
    """This machine's environment without any bot setting, a SQLite file in `folder`, the stand-in agent
    (U0AGENT, SlackRequests' default user) allowed, and `settings`."""
    inherited = {k: v for k, v in os.environ.items()
                 if not k.startswith(("SLACK_", "DATABASE_URL", "HELPDESK", "ALLOW"))}
    return {**inherited, "DATABASE_URL": f"sqlite:///{folder}/serve.db", "ALLOWED_USERS": "U0AGENT", **settings}


def import_demo_dataset(env: dict[str, str], folder: Path) -> None:
    imported = subprocess.run(
        [sys.executable, "-m", "bot", "import", *(str(p) for p in sorted(Path(DATASET).glob("*.csv")))],
        env=env, cwd=folder, capture_output=True, text=True, timeout=60,
    )
    assert imported.returncode == 0, imported.stderr

"""Generate docs/reference.md from the CLI itself, so the reference never drifts.

Run ``python docs/gen_reference.py`` after changing a command; ``tests/test_docs.py`` fails when
the committed file differs from what this produces.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

HEADER = """# Command reference

Generated from the CLI by `python docs/gen_reference.py`; do not edit by hand
(`tests/test_docs.py` checks that this file matches the code).

Global options (`--profile P`, `--region R`, `--endpoint-url URL`, `--twilio-api-url URL`,
`--twilio-profile NAME`, `--debug`, `--quiet`, `--version`) go before or after the command:
`twilio-es --region R stream list` and `twilio-es stream list --region R` are the same. They
are listed under `twilio-es` below.
"""


def _walk(command: Any, ctx: Any, path: list[str], out: list[str]) -> None:
    """Append the help of ``command`` and, for groups, of every sub-command in order."""
    help_text = command.get_help(ctx).rstrip()
    level = "#" * min(len(path) + 1, 4)
    out.append(f"{level} `{' '.join(path)}`\n\n```text\n{help_text}\n```\n")
    names = command.list_commands(ctx) if hasattr(command, "list_commands") else []
    for name in names:
        sub = command.get_command(ctx, name)
        if sub is None or getattr(sub, "hidden", False):
            continue
        sub_ctx = sub.make_context(name, ["--help"], parent=ctx, resilient_parsing=True)
        _walk(sub, sub_ctx, [*path, name], out)


def generate() -> str:
    """The full Markdown reference for the current code."""
    os.environ["COLUMNS"] = "100"
    from twilio_es_cli.cli import root_command

    root = root_command()
    ctx = root.make_context("twilio-es", ["--help"], resilient_parsing=True)
    ctx.max_content_width = 100
    ctx.terminal_width = 100
    parts: list[str] = [HEADER]
    _walk(root, ctx, ["twilio-es"], parts)
    return "\n".join(parts)


def main() -> None:
    target = Path(__file__).with_name("reference.md")
    target.write_text(generate(), encoding="utf-8")
    sys.stderr.write(f"wrote {target}\n")


if __name__ == "__main__":
    main()

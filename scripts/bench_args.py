"""The command line of the bench scripts: the script's docstring as its help, and whole-number
options (`per_post=2000` is `--per-post`, 2000 unless told otherwise)."""

from __future__ import annotations

import argparse


def parse_counts(
    description: str, raw: bool = False, texts: tuple[str, ...] = (), **defaults: int
) -> argparse.Namespace:
    """The parsed options; `raw` keeps the description's own line breaks in --help; `texts`
    names options that take a string (None unless given)."""
    parser = argparse.ArgumentParser(
        description=description,
        formatter_class=argparse.RawDescriptionHelpFormatter if raw else argparse.HelpFormatter,
    )
    for name in texts:
        parser.add_argument("--" + name.replace("_", "-"), default=None)
    for name, default in defaults.items():
        parser.add_argument("--" + name.replace("_", "-"), type=int, default=default)
    return parser.parse_args()

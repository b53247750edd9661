"""Runs several `guardpost-edge` / `guardpost-hub` commands in one Python process, each through
the same `main` as its console script (same parsing, same one-line errors and exit codes), so a
fixture that sets up a post pays for one interpreter start instead of six.

stdin: a JSON list of `[program, [arg, ...]]` (program `edge` or `hub`); stdout: a JSON list of
`{"returncode", "stdout", "stderr"}`, one per command run; it stops after the first failure
unless given `--keep-going`."""

from __future__ import annotations

import contextlib
import io
import json
import sys
from collections.abc import Callable
from importlib import import_module
from typing import Any


def run_one(main: Callable[[], None], program: str, args: list[str]) -> dict[str, Any]:
    out, err = io.StringIO(), io.StringIO()
    sys.argv = [f"guardpost-{program}", *args]
    code = 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main()
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return {"returncode": code, "stdout": out.getvalue(), "stderr": err.getvalue()}


def main() -> None:
    results = []
    keep_going = "--keep-going" in sys.argv[1:]
    for program, args in json.load(sys.stdin):
        entry = import_module(f"{program}.cli").main
        results.append(run_one(entry, program, args))
        if results[-1]["returncode"] and not keep_going:
            break
    print(json.dumps(results))


if __name__ == "__main__":
    main()

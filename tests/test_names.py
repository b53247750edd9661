"""Site and device names are ids that go into MQTT topics, the broker's ACL and password file,
URLs and file names: `init` and `provision-device` refuse any that is not safe there."""

from __future__ import annotations

from pathlib import Path

from schemas.topics import NAME_RULE, is_safe_name
from tests.helpers import run_batch, run_edge, run_hub

UNSAFE = [
    "a/b",
    "+",
    "site#1",
    "$SYS",
    "a b",
    "海景",
    'a"b',
    "..",
    "a.b",
    "Harbour",
    "-lobby",
    "a_b",
    "a:b",
    "a" * 64,
    "",
]


def test_names_safe_in_topics_and_files() -> None:
    assert all(
        is_safe_name(n)
        for n in ("harbour-view", "lobby-1", "sunrise-court", "a", "site-007", "a" * 63)
    )
    assert not any(is_safe_name(n) for n in [*UNSAFE, "a\x00b", "a\n", "lobby-1\n"])


def test_init_and_provision_device_refuse_unsafe_names(tmp_path: Path) -> None:
    hub = tmp_path / "hub"
    assert run_hub("init", "--data", str(hub)).returncode == 0
    post = str(tmp_path / "post")
    good = {"--site": "harbour-view", "--device": "lobby-1"}
    tried = (
        [("edge", "--site", n) for n in UNSAFE[:8]]
        + [("hub", "--device", n) for n in UNSAFE[:8]]
        + [("edge", "--device", "a.b"), ("hub", "--site", "Harbour")]
    )
    command = {"edge": ["init", "--data", post], "hub": ["provision-device", "--data", str(hub)]}
    results = run_batch(
        *((p, command[p] + names_args({**good, option: name})) for p, option, name in tried),
        keep_going=True,
    )
    for (_, option, name), result in zip(tried, results, strict=True):
        line = f"Error: {option} must be {NAME_RULE}, e.g. harbour-view or lobby-1"
        assert (result.returncode, result.stderr.strip(), result.stdout) == (2, line, ""), (
            option,
            name,
        )
    assert not (tmp_path / "post").exists()
    assert not (hub / "broker").exists()  # no account, no ACL line was written
    assert run_edge("init", "--data", post, *names_args(good)).returncode == 0
    assert run_hub("provision-device", "--data", str(hub), *names_args(good)).returncode == 0


def names_args(names: dict[str, str]) -> list[str]:
    return [part for option, value in names.items() for part in (option, value)]

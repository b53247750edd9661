"""MQTT topic names (CONTRACT section 4), and the rule for the site and device names in them."""

import re

PREFIX = "guardpost/v1"

# A site or device name is an id that goes into MQTT topics, the broker's ACL and password
# file, file names and URLs: lower-case letters, digits and '-', like a DNS label. That keeps
# out the MQTT wildcards `+ #`, the level separator `/`, `$` (the broker's own topics), NUL,
# spaces, quotes, `:` (the password file), `.` (the device account is `site.device`), path
# separators and `..`. How a site is shown (Chinese too) is its display name, not its id.
NAME_RULE = "1 to 63 lower-case letters, digits and '-', starting with a letter or digit"
_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")


def is_safe_name(name: str) -> bool:
    """True when `name` may be a site or device id (`NAME_RULE`)."""
    return _NAME.fullmatch(name) is not None


def events_topic(site: str, device: str) -> str:
    return f"{PREFIX}/{site}/{device}/events"


def ack_topic(site: str, device: str) -> str:
    return f"{PREFIX}/{site}/{device}/ack"


def status_topic(site: str, device: str) -> str:
    return f"{PREFIX}/{site}/{device}/status"


def down_topic(site: str) -> str:
    return f"{PREFIX}/{site}/down"


def blobs_topic(site: str, device: str) -> str:
    """A post's photo bytes, in chunks (`schemas.photos`)."""
    return f"{PREFIX}/{site}/{device}/blobs"


def blob_ack_topic(site: str, device: str) -> str:
    return f"{PREFIX}/{site}/{device}/blobs/ack"

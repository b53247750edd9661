"""MQTT topic names (CONTRACT section 4)."""

PREFIX = "guardpost/v1"


def events_topic(site: str, device: str) -> str:
    return f"{PREFIX}/{site}/{device}/events"


def ack_topic(site: str, device: str) -> str:
    return f"{PREFIX}/{site}/{device}/ack"


def status_topic(site: str, device: str) -> str:
    return f"{PREFIX}/{site}/{device}/status"


def down_topic(site: str) -> str:
    return f"{PREFIX}/{site}/down"

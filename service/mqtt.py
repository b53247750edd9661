"""The one paho wrapper of edge and hub: the broker URL, the client both sides set up the same
way (credentials, TLS when the URL says `mqtts`, callback API v2, reconnect delays, QoS 1, the
network thread's start and stop) and callbacks that never raise.

As STYLE.md's "MQTT" asks: `on_connect` checks `reason_code.is_failure`, bad credentials end
the retries, and every connect subscribes again. What a message means stays with the service:
it gets `on_connected()`, `on_disconnected(reason)` and `on_message(topic, payload)`, and
publishes with `publish`.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar, cast
from urllib.parse import unquote, urlparse

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

log = logging.getLogger(__name__)

RETRY_MIN_S, RETRY_MAX_S = 1, 30
KEEPALIVE_S = 30
# CONNACK codes that retrying with the same credentials will not change: bad user name or
# password, not authorised (MQTT 5), and the MQTT 3.1.1 return codes of the same
BAD_CREDENTIALS = frozenset({0x86, 0x87, 4, 5})
F = TypeVar("F", bound=Callable[..., None])


def never_raises(callback: F) -> F:
    """A paho callback that logs what it raises: an exception escaping a callback ends paho's
    network thread, and with it everything the service hears (hub and post alike)."""

    @functools.wraps(callback)
    def safe(*args: Any, **kwargs: Any) -> None:
        try:
            callback(*args, **kwargs)
        except Exception:
            log.exception("MQTT callback failed", extra={"callback": callback.__name__})

    return cast(F, safe)  # functools.wraps keeps the signature; mypy cannot see it


@dataclass
class BrokerUrl:
    """`mqtt://user:password@host:port` or `mqtts://...` (TLS; port 8883 unless given)."""

    host: str
    port: int
    username: str | None
    password: str | None
    tls: bool

    @classmethod
    def parse(cls, url: str) -> BrokerUrl:
        parts = urlparse(url)
        tls = parts.scheme == "mqtts"
        return cls(
            parts.hostname or "127.0.0.1",
            parts.port or (8883 if tls else 1883),
            unquote(parts.username) if parts.username else None,
            unquote(parts.password) if parts.password else None,
            tls,
        )


class MqttClient:
    """One connection to the broker, kept in the background by paho's network thread: it
    connects and reconnects by itself (1 s to 30 s apart), subscribes to `subscriptions` on
    every connect and hands each message to `on_message` (on the network thread)."""

    def __init__(
        self,
        broker_url: str,
        client_id: str,
        *,
        subscriptions: Sequence[tuple[str, int]],
        on_connected: Callable[[], None],
        on_disconnected: Callable[[str], None],
        on_message: Callable[[str, bytes], None],
        mqtt5: bool = False,
        will: tuple[str, str] | None = None,
        max_inflight: int | None = None,
    ) -> None:
        """`will`: a topic and payload the broker publishes (QoS 1, retained) when the
        connection drops. MQTT 5 (`mqtt5`) starts a clean session; 3.1.1 a clean one too."""
        self.broker = BrokerUrl.parse(broker_url)
        self.client_id = client_id
        self.subscriptions = list(subscriptions)
        self._on_connected = on_connected
        self._on_disconnected = on_disconnected
        self._on_message = on_message
        self._client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id,
            protocol=mqtt.MQTTv5 if mqtt5 else mqtt.MQTTv311,
        )
        if self.broker.username:
            self._client.username_pw_set(self.broker.username, self.broker.password)
        if self.broker.tls:
            self._client.tls_set()
        if will is not None:
            self._client.will_set(will[0], will[1], qos=1, retain=True)
        self._client.reconnect_delay_set(RETRY_MIN_S, RETRY_MAX_S)
        if max_inflight is not None:
            self._client.max_inflight_messages_set(max_inflight)
        self._client.on_connect = self._connected
        self._client.on_disconnect = self._disconnected
        self._client.on_message = self._message

    def start(self) -> None:
        """Connect in the background (and keep connecting until it works)."""
        self._client.connect_async(
            self.broker.host, self.broker.port, keepalive=KEEPALIVE_S, clean_start=True
        )
        self._client.loop_start()

    def stop(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()

    def publish(
        self, topic: str, payload: str | bytes, retain: bool = False
    ) -> mqtt.MQTTMessageInfo:
        """Publish at QoS 1 (the `retain`ed message is what a new subscriber gets first)."""
        return self._client.publish(topic, payload, qos=1, retain=retain)

    @property
    def network_thread(self) -> threading.Thread | None:
        """Paho's network loop, which ends when the broker refuses the credentials."""
        thread: threading.Thread | None = getattr(self._client, "_thread", None)
        return thread

    # ---- paho callbacks (network thread) ----------------------------------------------------

    @never_raises
    def _connected(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: Any,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        if reason_code.is_failure:
            log.error(
                "broker refused the connection",
                extra={"client_id": self.client_id, "reason": str(reason_code)},
            )
            if reason_code.value in BAD_CREDENTIALS:
                client.disconnect()  # retrying with the same credentials will not help
            return
        if self.subscriptions:
            client.subscribe(self.subscriptions)
        self._on_connected()

    @never_raises  # paho passes (client, userdata, flags, reason_code, properties)
    def _disconnected(self, _c: Any, _u: Any, _f: Any, reason_code: ReasonCode, _p: Any) -> None:
        self._on_disconnected(str(reason_code))

    @never_raises
    def _message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        self._on_message(message.topic, bytes(message.payload))

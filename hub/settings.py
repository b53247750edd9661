"""Settings of the hub: one object, built once by the CLI (flag beats env beats default)."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class HubSettings(BaseSettings):
    """Every field is also a `GUARDPOST_HUB_<NAME>` environment variable."""

    model_config = SettingsConfigDict(env_prefix="GUARDPOST_HUB_", extra="forbid")

    data: Path = Field(description="the hub's data directory (made by `init`)")
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    broker: str | None = Field(default=None, description="mqtt://USER:PASS@HOST:PORT")
    shared_subscription: bool = Field(
        default=False, description="subscribe as $share/hub/... so ingest workers share load")
    client_id: str = Field(default="guardpost-hub", description="MQTT client id of this worker")
    timezone: str = Field(default="Asia/Hong_Kong", description="for ?date= and the logbook")
    session_hours: float = Field(default=12.0, gt=0)
    resend_down_s: float = Field(default=30.0, gt=0, description="resend undelivered down msgs")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator("broker")
    @classmethod
    def _mqtt_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("mqtt://", "mqtts://")):
            raise ValueError("broker must be an mqtt:// or mqtts:// URL")
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

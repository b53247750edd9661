"""Settings of one edge post: one object, built once by the CLI (flag beats env beats default)."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class ServiceSettings(BaseSettings):
    """What edge and hub settings share: a broker URL, a time zone, and their checks."""

    broker: str | None = Field(default=None, description="mqtt://USER:PASS@HOST:PORT")
    timezone: str = Field(default="Asia/Hong_Kong", description="the site's time zone")
    session_hours: float = Field(default=12.0, gt=0, description="how long a login lasts")

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


class EdgeSettings(ServiceSettings):
    """Every field is also a `GUARDPOST_<NAME>` environment variable."""

    model_config = SettingsConfigDict(env_prefix="GUARDPOST_", extra="forbid")

    data: Path = Field(description="the post's data directory (made by `init`)")
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=1, le=65535)
    intercom_webhook: str | None = None
    intercom_secret: str | None = None
    confirm_timeout: float = Field(default=90.0, gt=0, description="seconds a resident has")
    language: str = Field(default="zh-Hant", description="the tablet's language by default")
    idle_minutes: float = Field(default=10.0, gt=0, description="tablet back to the PIN pad")
    retention_days: int = Field(default=30, ge=1, description="days personal data is kept")
    deadline_minor_h: float = Field(default=72.0, gt=0, description="hours to resolve a minor")
    deadline_medium_h: float = Field(default=24.0, gt=0, description="hours to resolve a medium")
    deadline_severe_h: float = Field(default=1.0, gt=0, description="hours to resolve a severe")

    @field_validator("language")
    @classmethod
    def _known_language(cls, value: str) -> str:
        if value not in ("en", "zh-Hant", "zh-Hans"):
            raise ValueError("language must be en, zh-Hant or zh-Hans")
        return value

    def deadline_h(self, severity: str) -> float:
        return float(getattr(self, f"deadline_{severity}_h"))

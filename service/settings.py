"""What the edge's and the hub's settings share: a broker URL, a time zone, the session length, the
pages' language, and their checks. Each service subclasses it with its own `env_prefix`."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings

from schemas.fields import known_zone


class ServiceSettings(BaseSettings):
    """What edge and hub settings share: a broker URL, a time zone, and their checks."""

    broker: str | None = Field(default=None, description="mqtt://USER:PASS@HOST:PORT")
    timezone: str = Field(default="Asia/Hong_Kong", description="the site's time zone")
    session_hours: float = Field(default=12.0, gt=0, description="how long a login lasts")
    language: str = Field(default="zh-Hant", description="the pages' language by default")

    @field_validator("language")
    @classmethod
    def _known_language(cls, value: str) -> str:
        if value not in ("en", "zh-Hant", "zh-Hans"):
            raise ValueError("language must be en, zh-Hant or zh-Hans")
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        return known_zone(value)

    @field_validator("broker")
    @classmethod
    def _mqtt_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("mqtt://", "mqtts://")):
            raise ValueError("broker must be an mqtt:// or mqtts:// URL")
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

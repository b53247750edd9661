"""Settings of the hub: one object, built once by the CLI (flag beats env beats default)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import SettingsConfigDict

from service.settings import ServiceSettings


class HubSettings(ServiceSettings):
    """Every field is also a `GUARDPOST_HUB_<NAME>` environment variable."""

    model_config = SettingsConfigDict(env_prefix="GUARDPOST_HUB_", extra="forbid")

    data: Path = Field(description="the hub's data directory (made by `init`)")
    db: str | None = Field(
        default=None,
        description="postgresql://USER:PASS@HOST:PORT/DB: the hub's tables in PostgreSQL"
        " (absent: the one `init` was given, else SQLite in DATA)",
    )
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    shared_subscription: bool = Field(
        default=False, description="subscribe as $share/hub/... so ingest workers share load"
    )
    client_id: str = Field(default="guardpost-hub", description="MQTT client id of this worker")
    resend_down_s: float = Field(default=30.0, gt=0, description="resend undelivered down msgs")
    escalation_check_s: float = Field(
        default=15.0, gt=0, description="how often the hub looks for incidents to notify"
    )
    min_retention_days: float = Field(
        default=1.0,
        ge=0,
        description="a post's purge never clears personal data of records"
        " younger than this by the hub's clock (they are cleared once old enough)",
    )
    public_url: str | None = Field(
        default=None, description="the dashboard's address, for links in notifications"
    )

    @field_validator("db")
    @classmethod
    def _postgres_url(cls, value: str | None) -> str | None:
        if value and not value.startswith(("postgresql://", "postgres://")):
            raise ValueError("db must be a postgresql://USER:PASS@HOST:PORT/DB URL")
        return value or None

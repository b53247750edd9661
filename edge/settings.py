"""Settings of one edge post: one object, built once by the CLI (flag beats env beats default)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from schemas.models import Severity
from service.settings import ServiceSettings


class EdgeSettings(ServiceSettings):
    """Every field is also a `GUARDPOST_<NAME>` environment variable."""

    model_config = SettingsConfigDict(env_prefix="GUARDPOST_", extra="forbid")

    data: Path = Field(description="the post's data directory (made by `init`)")
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=1, le=65535)
    ssl_certfile: Path | None = Field(
        default=None, description="serve HTTPS with this certificate (PEM, with its chain)"
    )
    ssl_keyfile: Path | None = Field(default=None, description="the certificate's key (PEM)")
    public_url: str | None = Field(
        default=None,
        description="how the intercom gateway reaches this post; default http://HOST:PORT",
    )
    intercom_webhook: str | None = Field(
        default=None, description="the gateway's URL; confirmation requests are POSTed here"
    )
    intercom_secret: str | None = Field(
        default=None, description="HMAC-SHA256 key of the webhook's X-Guardpost-Signature"
    )
    confirm_timeout: float = Field(default=90.0, gt=0, description="seconds a resident has")
    door_forced_severity: Severity = Field(
        default=Severity.severe, description="severity of the incident a forced door opens"
    )
    door_held_open_severity: Severity = Field(
        default=Severity.medium, description="severity of the incident a door held open opens"
    )
    door_held_open_s: float = Field(
        default=120.0, ge=0, description="a door held open this long opens an incident"
    )
    idle_minutes: float = Field(default=10.0, gt=0, description="tablet back to the PIN pad")
    retention_days: int = Field(default=30, ge=1, description="days personal data is kept")
    disk_reserve_mb: int = Field(
        default=200,
        ge=0,
        description="below this much free disk the post refuses new records (507); 0: none",
    )
    deadline_minor_h: float = Field(default=72.0, gt=0, description="hours to resolve a minor")
    deadline_medium_h: float = Field(default=24.0, gt=0, description="hours to resolve a medium")
    deadline_severe_h: float = Field(default=1.0, gt=0, description="hours to resolve a severe")

    @field_validator("intercom_webhook", "public_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return value.rstrip("/") if value else value

    @model_validator(mode="after")
    def _key_with_certificate(self) -> EdgeSettings:
        if (self.ssl_certfile is None) != (self.ssl_keyfile is None):
            raise ValueError("--ssl-certfile and --ssl-keyfile go together")
        return self

    @model_validator(mode="after")
    def _secret_with_webhook(self) -> EdgeSettings:
        if self.intercom_webhook and not self.intercom_secret:
            raise ValueError(
                "--intercom-webhook needs --intercom-secret (the gateway checks "
                "every request's signature with it)"
            )
        return self

    @property
    def answers_url(self) -> str:
        """The `callback` a gateway answers on."""
        scheme = "https" if self.ssl_certfile else "http"
        base = self.public_url or f"{scheme}://{self.host}:{self.port}"
        return f"{base}/api/v1/intercom/answers"

    def deadline_h(self, severity: str) -> float:
        return float(getattr(self, f"deadline_{severity}_h"))

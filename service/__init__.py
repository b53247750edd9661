"""What the edge and the hub both need, one layer below them: the settings base (`settings`), the
CLI runner (`cli`), logging (`logs`), errors and HTTP (`errors`, `http`: bearer auth and the one
error shape, `http_limits`), passwords and the one login flow (`passwords`, `logins`), the
languages (`i18n`), and (as the reshape goes on) SQLite, MQTT and the page base.
Imports `schemas` only; never `edge` or `hub` (`tests/test_layers.py`)."""

__version__ = "0.1.0"

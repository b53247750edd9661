"""What the edge and the hub both need, one layer below them: errors, HTTP limits, logging, and
(as the reshape goes on) settings, the CLI runner, hashing, SQLite, MQTT and the page base.
Imports `schemas` only; never `edge` or `hub`."""

__version__ = "0.1.0"

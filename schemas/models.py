"""Every model and field type of `schemas` under one name, as edge and hub import them
(`from schemas import models as m`). They live by concern in `fields` (text rules, enums,
times), `bodies` (requests), `records` (answers) and `events`."""

from __future__ import annotations

from .bodies import *  # noqa: F403
from .events import *  # noqa: F403
from .fields import *  # noqa: F403
from .patrols import *  # noqa: F403
from .photos import *  # noqa: F403
from .records import *  # noqa: F403

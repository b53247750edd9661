"""Named errors of both services. Each carries its HTTP status, a machine `type` and the field it
is about; `service.http` turns them into FastAPI-shaped JSON and `service.cli` into one line and
exit 2."""

from __future__ import annotations


class GuardpostError(Exception):
    status = 400
    type = "error"
    loc: tuple[str, ...] = ()

    def __init__(self, msg: str, *, loc: tuple[str, ...] | None = None) -> None:
        super().__init__(msg)
        self.msg = msg
        if loc is not None:
            self.loc = loc


class NotInitialised(GuardpostError):
    type = "not_initialised"


class AlreadyInitialised(GuardpostError):
    type = "already_initialised"


class InvalidValue(GuardpostError):
    status = 422
    type = "value_error"


class UnknownUnit(InvalidValue):
    type = "unknown_unit"
    loc = ("body", "unit")


class UnknownVisit(InvalidValue):
    type = "unknown_visit"
    loc = ("body", "visit_id")


class PreapprovalRefused(InvalidValue):
    type = "preapproval_refused"
    loc = ("body", "preapproval_code")


class NotFound(GuardpostError):
    status = 404
    type = "not_found"


class Conflict(GuardpostError):
    status = 409
    type = "conflict"


class AlreadyCheckedOut(Conflict):
    type = "already_checked_out"


class NotCheckedOut(Conflict):
    type = "not_checked_out"


class UndoTooLate(Conflict):
    """A check-out is undone only shortly after it was made."""

    type = "undo_too_late"


class NoHandover(Conflict):
    type = "no_handover"


class AlreadyAcknowledged(Conflict):
    type = "already_acknowledged"


class ConfirmationClosed(Conflict):
    type = "confirmation_closed"


class TransitionForbidden(Conflict):
    type = "transition_forbidden"
    loc = ("body", "status")


class TooLarge(GuardpostError):
    """An upload over its size limit (refused while it streams in)."""

    status = 413
    type = "too_large"


class UnsupportedType(GuardpostError):
    """An upload whose bytes are not of a type accepted there (a photo: JPEG, PNG, WebP)."""

    status = 415
    type = "unsupported_media_type"


class Unauthorized(GuardpostError):
    status = 401
    type = "unauthorized"


class Forbidden(GuardpostError):
    status = 403
    type = "forbidden"


class TooManyAttempts(GuardpostError):
    status = 429
    type = "too_many_attempts"


class DiskFull(GuardpostError):
    """The post's disk is full: nothing of the request was written; it works again once
    space is freed."""

    status = 507
    type = "disk_full"


class StorageFailed(GuardpostError):
    """The database could not write the request (an I/O error, a damaged file); nothing of it
    was written."""

    status = 503
    type = "storage_failed"


class ClockBehind(GuardpostError):
    """The wall clock is behind the newest logbook event: ages judged by it are wrong."""

    status = 409
    type = "clock_behind"


class DamagedDatabase(GuardpostError):
    """The data directory's database is empty, not a Guardpost edge database, or damaged."""

    type = "damaged_database"

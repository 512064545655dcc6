"""Errors as the OpenAI API gives them: a status and {"error": {message, type, param, code}}.

Every failure a request can meet is turned into one of these, with a one-line message
naming what is wrong; the server itself never falls over.
"""

from __future__ import annotations

import logging
from typing import Any

from hearth.errors import HearthError

log = logging.getLogger(__name__)

INVALID_REQUEST = "invalid_request_error"
SERVER_ERROR = "server_error"


class ApiError(HearthError):
    def __init__(
        self,
        status: int,
        message: str,
        kind: str = INVALID_REQUEST,
        code: str | None = None,
        param: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.kind = kind
        self.code = code
        self.param = param

    def body(self) -> dict[str, Any]:
        return error_body(self.message, self.kind, self.code, self.param)


def error_body(
    message: str, kind: str = INVALID_REQUEST, code: str | None = None, param: str | None = None
) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}


def api_error(error: BaseException) -> ApiError:
    """The API's answer to ``error`` raised while serving a request."""
    from hearth.engine.errors import EngineCrashed, EngineError, ModelLoadError, NoModelLoaded
    from hearth.index.store import VectorStoreUnavailable
    from hearth.jobs import Cancelled
    from hearth.server.work_queue import QueueFull

    if isinstance(error, ApiError):
        return error
    if isinstance(error, Cancelled):
        return ApiError(499, "the request was cancelled (its client went away)", code="cancelled")
    message = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    if isinstance(error, QueueFull):
        return ApiError(429, message, "rate_limit_error", "rate_limit_exceeded")
    if isinstance(error, EngineCrashed | ModelLoadError | NoModelLoaded | VectorStoreUnavailable):
        return ApiError(503, message, SERVER_ERROR, "engine_unavailable")
    if isinstance(error, EngineError):
        return ApiError(500, message, SERVER_ERROR, "engine_error")
    if isinstance(error, HearthError):
        return ApiError(400, message)
    log.error("request failed", exc_info=error)
    return ApiError(500, f"internal error: {message}", SERVER_ERROR, "internal_error")

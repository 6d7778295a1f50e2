"""Domain errors: a stable machine code and a message a Chinese office worker understands."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from pydantic import ValidationError

from app.services.messages import errors_of


class DomainError(Exception):
    """Base of every error a service raises on purpose; api/errors.py renders it."""

    status = 400
    code = "bad_request"
    message = "请求无法处理"

    def __init__(
        self,
        message: str | None = None,
        *,
        code: str | None = None,
        errors: list[Any] | None = None,
        in_body: bool = False,
    ) -> None:
        self.message = message or type(self).message
        self.code = code or type(self).code
        self.errors = errors or []
        # the errors' locations are paths inside the request's body: REST shows them as body.<loc>, like the
        # validation errors of the framework (GraphQL, which has arguments and no body, as they are)
        self.in_body = in_body
        super().__init__(self.message)


class Unauthorized(DomainError):
    status = 401
    code = "unauthorized"
    message = "未登录或登录已失效，请重新登录"


class Forbidden(DomainError):
    status = 403
    code = "forbidden"
    message = "当前角色无权进行此操作"


class NotFound(DomainError):
    status = 404
    code = "not_found"
    message = "未找到该对象，或无权查看"


@contextmanager
def hidden_as(missing: NotFound) -> Iterator[None]:
    """For loading an object through its parent: a parent the caller may not see (whatever NotFound its
    check raises) answers exactly as the object itself missing would, so another county's object and an id
    that never existed give the same status, code and message. A wrong role on a visible parent (403) stays."""
    try:
        yield
    except NotFound:
        raise missing from None


class Conflict(DomainError):
    status = 409
    code = "conflict"
    message = "操作与当前状态冲突"


class Locked(DomainError):
    status = 423
    code = "locked"
    message = "当前已锁定，不能再修改"


class Invalid(DomainError):
    status = 422
    code = "invalid"
    message = "提交的内容不符合要求"


class TooLarge(DomainError):
    status = 413
    code = "too_large"
    message = "上传的文件过大"


class Unavailable(DomainError):
    status = 503
    code = "storage_unavailable"
    message = "文件存储服务暂时不可用，请稍后重试"


def file_too_large(max_bytes: int) -> TooLarge:
    """The error for a file over the upload limit, naming the limit."""
    return TooLarge(f"文件超过大小上限 {max_bytes // (1024 * 1024)} MB，请压缩或拆分后上传", code="file_too_large")


def invalid_from(
    exc: ValidationError, message: str, *, code: str = "validation_failed", in_body: bool = False
) -> Invalid:
    """An Invalid listing every field pydantic refused, as {loc, msg, type} (the REST validation shape); in_body when
    what was validated is the request's body."""
    return Invalid(message, code=code, errors=errors_of(exc.errors()), in_body=in_body)


class PreconditionFailed(DomainError):
    status = 412
    code = "precondition_failed"
    message = "数据已被他人修改，请刷新后在最新内容上重新操作"


class TooManyRequests(DomainError):
    status = 429
    code = "too_many_requests"
    message = "请求过于频繁，请稍后再试"

    def __init__(self, message: str | None = None, *, code: str | None = None, retry_after: int = 60) -> None:
        super().__init__(message, code=code)
        self.retry_after = retry_after


class IntegrityFailure(DomainError):
    """Stored bytes no longer match what was recorded: never served, always audited."""

    status = 500
    code = "integrity_error"
    message = "文件校验失败：存储中的文件与提交时记录的不一致，已停止提供并记录在审计日志中，请联系管理员核查"

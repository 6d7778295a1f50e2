"""Validation messages in Chinese: pydantic's error types (missing, string_too_long, url_parsing …)
said the way a county office worker reads them, naming the field; codes and locations unchanged.

Pydantic's own `msg` is English ("Input should be a valid URL…"); every place that shows a
validation error to a person (REST 422, GraphQL input errors, imports) goes through `describe`.
Types not listed below get a general Chinese sentence rather than the English text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

_WHERE = {"body": "", "query": "查询参数 ", "path": "路径参数 ", "header": "请求头 ", "cookie": "Cookie "}
_CJK = re.compile(r"[\u3400-\u9fff]")

_NUMBER = "{f} 必须是数字"
_INTEGER = "{f} 必须是整数"
_DATE = "{f} 必须是日期，格式如 2026-03-01"
_DATETIME = "{f} 必须是日期时间，格式如 2026-03-01T09:00:00+08:00"
_TEXT = "{f} 必须是文本"
_BOOL = "{f} 只能是 true 或 false"
_LIST = "{f} 必须是列表"
_OBJECT = "{f} 必须是一个对象"

# pydantic-core error type -> message; {f} is the field, other names come from the error's ctx.
TEMPLATES: dict[str, str] = {
    "missing": "{f} 为必填项",
    "missing_argument": "{f} 为必填项",
    "missing_keyword_only_argument": "{f} 为必填项",
    "missing_positional_only_argument": "{f} 为必填项",
    "extra_forbidden": "{f} 不是可以填写的字段",
    "unexpected_keyword_argument": "{f} 不是可以填写的字段",
    "unexpected_positional_argument": "{f} 不是可以填写的字段",
    "none_required": "{f} 应为空",
    "frozen_field": "{f} 不能修改",
    "frozen_instance": "{f} 不能修改",
    "string_type": _TEXT,
    "string_sub_type": _TEXT,
    "string_unicode": "{f} 必须是有效的文本（UTF-8）",
    "string_too_short": "{f} 至少需要 {min_length} 个字符",
    "string_too_long": "{f} 不能超过 {max_length} 个字符",
    "string_pattern_mismatch": "{f} 的格式不正确",
    "bytes_type": _TEXT,
    "bytes_too_short": "{f} 至少需要 {min_length} 个字节",
    "bytes_too_long": "{f} 不能超过 {max_length} 个字节",
    "int_type": _INTEGER,
    "int_parsing": _INTEGER,
    "int_parsing_size": "{f} 数值过大",
    "int_from_float": "{f} 必须是整数，不能带小数",
    "float_type": _NUMBER,
    "float_parsing": _NUMBER,
    "decimal_type": _NUMBER,
    "decimal_parsing": _NUMBER,
    "decimal_max_digits": "{f} 最多 {max_digits} 位数字",
    "decimal_max_places": "{f} 最多 {decimal_places} 位小数",
    "decimal_whole_digits": "{f} 整数部分最多 {whole_digits} 位",
    "finite_number": "{f} 必须是有限的数值",
    "greater_than": "{f} 必须大于 {gt}",
    "greater_than_equal": "{f} 不能小于 {ge}",
    "less_than": "{f} 必须小于 {lt}",
    "less_than_equal": "{f} 不能大于 {le}",
    "multiple_of": "{f} 必须是 {multiple_of} 的整数倍",
    "bool_type": _BOOL,
    "bool_parsing": _BOOL,
    "date_type": _DATE,
    "date_parsing": _DATE,
    "date_from_datetime_parsing": _DATE,
    "date_from_datetime_inexact": "{f} 只能是日期，不能带时间",
    "date_past": "{f} 必须是过去的日期",
    "date_future": "{f} 必须是将来的日期",
    "datetime_type": _DATETIME,
    "datetime_parsing": _DATETIME,
    "datetime_from_date_parsing": _DATETIME,
    "datetime_object_invalid": _DATETIME,
    "datetime_past": "{f} 必须是过去的时间",
    "datetime_future": "{f} 必须是将来的时间",
    "timezone_aware": "{f} 必须带时区，如 +08:00",
    "timezone_naive": "{f} 不能带时区",
    "time_type": "{f} 必须是时间，格式如 09:30",
    "time_parsing": "{f} 必须是时间，格式如 09:30",
    "time_delta_type": "{f} 必须是时长",
    "time_delta_parsing": "{f} 必须是时长",
    "url_type": "{f} 必须是网址",
    "url_parsing": "{f} 不是有效的网址（应以 http:// 或 https:// 开头）",
    "url_syntax_violation": "{f} 不是有效的网址",
    "url_too_long": "{f} 不能超过 {max_length} 个字符",
    "url_scheme": "{f} 只能是 http:// 或 https:// 开头的网址",
    "uuid_type": "{f} 必须是 UUID",
    "uuid_parsing": "{f} 必须是 UUID",
    "uuid_version": "{f} 的 UUID 版本不正确",
    "ip_v4_address": "{f} 必须是 IP 地址",
    "ip_v6_address": "{f} 必须是 IP 地址",
    "ip_any_address": "{f} 必须是 IP 地址",
    "value_error": "{f} 的值不符合要求",
    "assertion_error": "{f} 的值不符合要求",
    "enum": "{f} 只能是以下之一：{expected}",
    "literal_error": "{f} 只能是以下之一：{expected}",
    "list_type": _LIST,
    "tuple_type": _LIST,
    "set_type": _LIST,
    "frozen_set_type": _LIST,
    "iterable_type": _LIST,
    "too_short": "{f} 至少需要 {min_length} 项",
    "too_long": "{f} 最多 {max_length} 项",
    "set_item_not_hashable": "{f} 的条目不能重复或无法比较",
    "dict_type": _OBJECT,
    "mapping_type": _OBJECT,
    "model_type": _OBJECT,
    "model_attributes_type": _OBJECT,
    "dataclass_type": _OBJECT,
    "dataclass_exact_type": _OBJECT,
    "is_instance_of": "{f} 的类型不正确",
    "is_subclass_of": "{f} 的类型不正确",
    "union_tag_invalid": "{f} 的类型标记只能是以下之一：{expected_tags}",
    "union_tag_not_found": "{f} 缺少类型标记字段 {discriminator}",
    "json_invalid": "请求体不是有效的 JSON，请检查引号、逗号和括号",
    "json_type": "{f} 必须是 JSON 文本",
    "recursion_loop": "{f} 嵌套过深",
}
_FALLBACK = "{f} 的值不符合要求"


def field_name(loc: Sequence[Any]) -> str:
    """The field a location names, as shown to a person: 'title', '查询参数 limit', 'scores 第 3 条的 points'.
    Positions in a list are counted from 1 and said in words (条, so they never read like an indicator's 第18项,
    nor like the location's 0-based index: loc body.scores.2.points is 'scores 第 3 条的 points')."""
    parts = list(loc)
    where = ""
    if parts and parts[0] in _WHERE:
        where = _WHERE[parts.pop(0)]
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f" 第 {part + 1} 条" if text else f"第 {part + 1} 条"
        elif text.endswith("条"):
            text += f"的 {part}"
        else:
            text += f".{part}" if text else str(part)
    if not text:
        return "请求体" if not where else where.strip()
    return f"{where}{text}"


def problem(loc: Sequence[Any], reason: str) -> dict[str, str]:
    """A problem our own rules found in an input, shaped like a pydantic error in errors_of: loc the real path
    (dotted, 0-based as the data is), msg the field in words (1-based) and the reason: `scores.2.points` →
    'scores 第 3 条的 points：第18项得分不能超过分值 2'."""
    return {"loc": ".".join(str(p) for p in loc), "msg": f"{field_name(loc)}：{reason}"}


def _expected(value: Any) -> str:
    # pydantic joins choices in English: "'a', 'b' or 'c'"
    return str(value).replace(" or ", "、").replace(", ", "、")


def describe(error: Mapping[str, Any]) -> str:
    """The Chinese message for one pydantic error (a dict of ValidationError.errors())."""
    kind = str(error.get("type", ""))
    ctx = dict(error.get("ctx") or {})
    field = field_name(error.get("loc", ()))
    if kind in ("value_error", "assertion_error"):
        # Our own validators speak Chinese already ("网址资料只需填写 url"): keep their words.
        reason = str(ctx.get("error", ""))
        if _CJK.search(reason):
            return f"{field}：{reason}"
    if kind == "json_invalid":
        return TEMPLATES[kind]
    for key in ("expected", "expected_tags", "expected_schemes"):
        if key in ctx:
            ctx[key] = _expected(ctx[key])
    try:
        return TEMPLATES.get(kind, _FALLBACK).format(f=field, **ctx)
    except (KeyError, IndexError, ValueError):
        return _FALLBACK.format(f=field)


def errors_of(errors: Sequence[Mapping[str, Any]]) -> list[dict[str, str]]:
    """Every error as {loc, msg, type}: the dotted location, the Chinese message and pydantic's type."""
    return [
        {"loc": ".".join(str(p) for p in e.get("loc", ())), "msg": describe(e), "type": str(e.get("type", ""))}
        for e in errors
    ]

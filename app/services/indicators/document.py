"""A framework document checked as a whole (structure, numbering, references) before anything is stored,
and whether a scoring configuration fits a framework: the check both a framework's default scoring block
(at import) and a campaign's own configuration (assessment) must pass. Pure functions: no database."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from pydantic import ValidationError

from app.models.framework import SectionKind
from app.models.framework_file import FrameworkFile
from app.models.scoring_config import ScoringConfig
from app.services.errors import Invalid, invalid_from
from app.services.messages import problem


def scoring_problems(
    config: ScoringConfig,
    *,
    item_kinds: dict[str, SectionKind],
    level1_titles: set[str],
    at: tuple[str, ...] = ("scoring",),
) -> list[dict]:
    """Where config names items or headings the framework does not have (empty when it fits); level-1
    weights may also name a section, for lists without headings (罗平 量化任务清单). at: where the configuration
    lies in its document (a framework file's scoring block; the whole body of a campaign's PUT)."""
    errors = []
    for key in config.items:
        if key not in item_kinds:
            errors.append(problem((*at, "items", key), f"指标“{key}”不存在"))
    for key in config.metrics:
        if key not in item_kinds:
            errors.append(problem((*at, "metrics", key), f"指标“{key}”不存在"))
        elif item_kinds[key] == SectionKind.veto:
            errors.append(problem((*at, "metrics", key), f"否决项“{key}”不能设置量化指标"))
    for title in config.level1_weights:
        if title not in level1_titles:
            errors.append(problem((*at, "level1_weights", title), f"一级指标“{title}”不存在"))
    return errors


def validate(data: Any) -> FrameworkFile:
    """A checked FrameworkFile: structure, numbering, sections and references, all at once."""
    try:
        doc = FrameworkFile.model_validate(data)
    except ValidationError as exc:
        raise invalid_from(exc, "指标体系文件格式不正确", code="framework_invalid") from exc
    errors: list[dict[str, str]] = []

    def found(loc: tuple[str | int, ...], msg: str) -> None:
        errors.append(problem(loc, msg))

    section_codes = [s.code for s in doc.sections]
    for code in {c for c in section_codes if section_codes.count(c) > 1}:
        found(("sections",), f"分类代码“{code}”重复")
    keys: set[str] = set()
    numbers: dict[str, list[int]] = defaultdict(list)
    for i, item in enumerate(doc.items):
        if item.key in keys:
            found(("items", i, "key"), f"指标键“{item.key}”重复")
        keys.add(item.key)
        if item.section not in section_codes:
            found(("items", i, "section"), f"分类“{item.section}”未在 sections 中定义")
        numbers[item.section].append(item.number)
        if item.level2 and not item.level1:
            found(("items", i, "level2"), "有二级指标时必须有一级指标")
        if any(not n.strip() for n in [*item.lead_units, *item.units]):
            found(("items", i, "units"), "单位名称不能为空")
    for section, nums in numbers.items():
        if sorted(nums) != list(range(1, len(nums) + 1)):
            i = section_codes.index(section) if section in section_codes else None
            at = ("sections", i) if i is not None else ("items",)
            found(at, f"分类“{section}”的序号应从1连续编号，实际为 {sorted(nums)}")
    material_keys: set[str] = set()
    for i, mat in enumerate(doc.materials):
        if mat.key in material_keys:
            found(("materials", i, "key"), f"材料键“{mat.key}”重复")
        material_keys.add(mat.key)
        for ref in [*mat.items, *mat.printed_at]:
            if ref not in keys:
                found(("materials", i, "items"), f"引用的指标“{ref}”不存在")
    if doc.scoring is not None:
        kinds = {s.code: s.kind for s in doc.sections}
        errors += scoring_problems(
            doc.scoring,
            item_kinds={it.key: kinds[it.section] for it in doc.items if it.section in kinds},
            level1_titles={it.level1 for it in doc.items if it.level1} | {s.name for s in doc.sections},
        )
    if errors:
        raise Invalid("指标体系文件内容有误，未导入任何数据", code="framework_invalid", errors=errors)
    return doc

"""Load assessment standards from YAML files (idempotent upsert by code)."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

from sqlalchemy import select

from app.content.report import ContentError, SyncReport, load_yaml
from app.extensions import db
from app.standards.models import LEVELS, Standard, StandardArea, StandardItem


def _bilingual(data: dict, field: str, where: str, errors: list[str], required: bool = True) -> tuple[str, str]:
    value = data.get(field)
    if value is None and not required:
        return "", ""
    if not isinstance(value, dict) or not str(value.get("zh", "")).strip():
        errors.append(f"{where}: field '{field}' needs zh (and en) text")
        return "", ""
    return str(value.get("zh", "")).strip(), str(value.get("en", "") or "").strip()


def sync_standard_file(path: Path, report: SyncReport) -> Standard | None:
    """Create or update the standard described by ``path``.

    Raises:
        ContentError: listing every problem as ``file: message`` (nothing is written then).
    """
    data = load_yaml(path)
    errors: list[str] = []
    where = str(path)
    if not isinstance(data, dict):
        raise ContentError([f"{where}: expected a mapping at the top level"])
    code = str(data.get("code", "")).strip()
    if not code:
        errors.append(f"{where}: field 'code' is required")
    title = _bilingual(data, "title", where, errors)
    description = _bilingual(data, "description", where, errors, required=False)
    areas = data.get("areas")
    if not isinstance(areas, list) or not areas:
        errors.append(f"{where}: field 'areas' must be a non-empty list")
        areas = []
    seen_items: set[str] = set()
    parsed_areas = []
    for a_index, area in enumerate(areas):
        a_where = f"{where}: areas[{a_index}]"
        if not isinstance(area, dict) or not area.get("code"):
            errors.append(f"{a_where}: needs a 'code'")
            continue
        a_title = _bilingual(area, "title", a_where, errors)
        items = []
        for i_index, item in enumerate(area.get("items") or []):
            i_where = f"{a_where}.items[{i_index}]"
            if not isinstance(item, dict) or not item.get("code"):
                errors.append(f"{i_where}: needs a 'code'")
                continue
            icode = str(item["code"])
            if icode in seen_items:
                errors.append(f"{i_where}: item code {icode} is used twice")
            seen_items.add(icode)
            level = item.get("level")
            if level not in LEVELS:
                errors.append(f"{i_where}: field 'level' must be one of {', '.join(LEVELS)}")
            digcomp = item.get("digcomp") or []
            if not isinstance(digcomp, list):
                errors.append(f"{i_where}: field 'digcomp' must be a list")
                digcomp = []
            items.append({
                "code": icode, "title": _bilingual(item, "title", i_where, errors),
                "description": _bilingual(item, "description", i_where, errors, required=False),
                "level": level, "digcomp": [str(d) for d in digcomp],
            })
        parsed_areas.append({"code": str(area["code"]), "title": a_title, "items": items})
    if errors:
        raise ContentError(errors)

    digest = hashlib.sha256(json.dumps(data, sort_keys=True, ensure_ascii=False, default=str).encode()).hexdigest()
    standard = db.session.execute(select(Standard).where(Standard.code == code)).scalar_one_or_none()
    if standard is not None and standard.content_hash == digest:
        report.unchanged("standard")
        return standard
    if standard is None:
        standard = Standard(code=code)
        db.session.add(standard)
        report.created("standard", code)
    else:
        report.updated("standard", code)
    standard.version = str(data.get("version", ""))
    standard.title_zh, standard.title_en = title
    standard.description_zh, standard.description_en = description
    standard.attribution = str(data.get("attribution", "") or "")
    standard.content_hash = digest
    db.session.flush()

    existing_areas = {a.code: a for a in standard.areas}
    existing_items = {
        i.code: i for i in db.session.execute(select(StandardItem).where(StandardItem.standard_id == standard.id)).scalars()
    }
    item_position = 0
    for a_pos, area_data in enumerate(parsed_areas):
        area = existing_areas.get(area_data["code"])
        if area is None:
            area = StandardArea(standard=standard, code=area_data["code"])
            db.session.add(area)
        area.title_zh, area.title_en = area_data["title"]
        area.position = a_pos
        db.session.flush()
        for item_data in area_data["items"]:
            item = existing_items.get(item_data["code"])
            if item is None:
                item = StandardItem(standard_id=standard.id, code=item_data["code"])
                db.session.add(item)
            item.area_id = area.id
            item.title_zh, item.title_en = item_data["title"]
            item.description_zh, item.description_en = item_data["description"]
            item.level = item_data["level"]
            item.digcomp = item_data["digcomp"]
            item.position = item_position
            item_position += 1
    db.session.flush()
    return standard


def find_item(code: str, standard_code: str | None = None) -> StandardItem | None:
    """Look up a standard item by code (within ``standard_code`` if given)."""
    query = select(StandardItem).where(StandardItem.code == code)
    if standard_code:
        query = query.join(Standard, Standard.id == StandardItem.standard_id).where(Standard.code == standard_code)
    rows = list(db.session.execute(query).scalars())
    return rows[0] if len(rows) == 1 else None

"""Rollout plans kept as YAML files: validate one file, then create or update its plan.

An administrator writes one plan per file (format in ``docs/content-format.md``, section
"Rollout plans (YAML)") and loads it with ``flask rollout load-plan FILE``. The file is checked
completely before anything is written; every problem is reported as
``FILE[:LINE]: field 'x': message`` in one :class:`~app.content.report.ContentError`. A plan is
identified by its ``key``, so loading the same file again changes nothing, and loading an edited
file updates the plan in place (milestones and exemptions become exactly the file's).
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

import yaml
from sqlalchemy import select

from app.auth.models import User
from app.certification.models import Certification
from app.content.report import ContentError, load_yaml
from app.extensions import db
from app.learning.models import Course
from app.org.models import Department
from app.org.services import subtree_ids
from app.rollout.editing import PlanInput, PlanInvalid, WaveInput, save_plan
from app.rollout.models import DUE_FIXED, DUE_RULES, RolloutPlan

CREATED, UPDATED, UNCHANGED = "created", "updated", "unchanged"

KEY_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,79}")
TOP_LEVEL_FIELDS = ("key", "name", "certification", "courses", "audience", "exclusions", "positions", "grades", "due", "starts_on",
                    "ends_on", "milestones", "waves", "exemptions", "active")
REQUIRED_FIELDS = ("key", "name", "audience", "starts_on", "ends_on", "milestones")  # and certification and/or courses
NAME_MAX = 200
_IN_CHUNK = 500  # ids per IN (…) list, well under every engine's bound-parameter limit

FieldPath = tuple  # a field's place in the document, e.g. ("milestones", 1, "due_on")


@dataclass
class PlanSummary:
    """What :func:`load_plan_file` did (or, on a dry run, would do).

    ``action`` is ``created``, ``updated`` or ``unchanged`` (the plan, its audience, milestones and
    exemptions); ``milestones`` and ``exemptions`` are the plan's counts after the load;
    ``new_enrolments`` is how many enrolments :func:`~app.rollout.services.assign` created
    (staff who joined the audience since the last load also count). ``changes`` names what was
    changed; ``warnings`` are things worth a look that do not stop the load.
    """

    key: str
    action: str
    plan_id: int
    milestones: int
    exemptions: int
    new_enrolments: int
    changes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        """Human-readable lines for the CLI: warnings first, then one summary line."""
        out = [f"warning: {w}" for w in self.warnings]
        what = f"plan {self.key}: {self.action}"
        if self.changes:
            what += f" ({', '.join(self.changes)})"
        out.append(f"{what}; {self.milestones} milestone(s), {self.exemptions} exemption(s), "
                   f"{self.new_enrolments} new enrolment(s)")
        return out


@dataclass
class _PlanSpec:
    key: str
    name_zh: str
    name_en: str
    certification: Certification | None
    audience: list[Department]
    starts_on: dt.date
    ends_on: dt.date
    milestones: dict[dt.date, Decimal]  # due_on → target percent (0–100, two decimals)
    exemptions: dict[int, str]  # user id → reason
    active: bool
    exclusions: list[Department] = field(default_factory=list)
    positions: list[str] = field(default_factory=list)
    grades: list[str] = field(default_factory=list)
    courses: list[int] = field(default_factory=list)
    due_rule: str = DUE_FIXED
    due_days: int | None = None
    waves: list[WaveInput] = field(default_factory=list)


class _PlanLoader(yaml.SafeLoader):
    """SafeLoader that leaves an impossible date (``2026-06-31``) as text for the field check to
    report with its line, instead of raising ValueError."""


def _timestamp_or_text(loader: yaml.SafeLoader, node: yaml.ScalarNode):
    try:
        return yaml.SafeLoader.construct_yaml_timestamp(loader, node)
    except ValueError:
        return loader.construct_scalar(node)


_PlanLoader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp_or_text)


class _Document:
    """The parsed YAML plus, for each field path, its line number and the scalar's source text.

    ``text`` must already be known to be well-formed YAML (checked by ``load_yaml``).
    """

    def __init__(self, path: Path, text: str):
        self.path = path
        self.lines: dict[FieldPath, int] = {}
        self.raw: dict[FieldPath, str] = {}
        self.errors: list[str] = []
        loader = _PlanLoader(text)
        try:
            node = loader.get_single_node()
            self.data = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
        self._walk(node, ())

    def _walk(self, node, path: FieldPath) -> None:
        if isinstance(node, yaml.MappingNode):
            seen = set()
            for key_node, value_node in node.value:
                if not isinstance(key_node, yaml.ScalarNode):
                    continue
                child = path + (key_node.value,)
                self.lines.setdefault(child, key_node.start_mark.line + 1)
                if key_node.value in seen:
                    self.error(child, "is given twice", line=key_node.start_mark.line + 1)
                seen.add(key_node.value)
                self._walk(value_node, child)
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                child = path + (index,)
                self.lines[child] = item.start_mark.line + 1
                self._walk(item, child)
        elif isinstance(node, yaml.ScalarNode):
            self.raw[path] = node.value

    def where(self, path: FieldPath) -> str:
        """``FILE:LINE`` of the field (or its nearest enclosing entry), or ``FILE``."""
        for end in range(len(path), 0, -1):
            line = self.lines.get(path[:end])
            if line is not None:
                return f"{self.path}:{line}"
        return str(self.path)

    def error(self, path: FieldPath, message: str, *, line: int | None = None) -> None:
        """Record ``FILE:LINE: field 'a[0].b': message``."""
        where = f"{self.path}:{line}" if line is not None else self.where(path)
        self.errors.append(f"{where}: field '{_field_name(path)}': {message}")

    def text(self, path: FieldPath, value) -> str | None:
        """A scalar as written in the file (so ``0123`` stays ``0123``); None for lists and mappings."""
        if isinstance(value, (dict, list)) or value is None:
            return None
        return self.raw.get(path, str(value)).strip()


def _field_name(path: FieldPath) -> str:
    name = ""
    for part in path:
        name += f"[{part}]" if isinstance(part, int) else (f".{part}" if name else str(part))
    return name


def _chunks(values: list, size: int = _IN_CHUNK):
    for start in range(0, len(values), size):
        yield values[start:start + size]


def _date(doc: _Document, path: FieldPath, value) -> dt.date | None:
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    doc.error(path, f"must be a date like 2026-06-30, not {value!r}")
    return None


def _percent(doc: _Document, path: FieldPath, value) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        doc.error(path, f"must be a number from 0 to 100, not {value!r}")
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:  # pragma: no cover - str() of an int/float is always a decimal
        number = Decimal("NaN")
    if not number.is_finite() or not Decimal(0) <= number <= Decimal(100):
        doc.error(path, f"must be from 0 to 100, not {value}")
        return None
    if number != number.quantize(Decimal("0.01")):
        doc.error(path, f"may have at most two decimals, not {value}")
        return None
    return number.quantize(Decimal("0.01"))


def _parse_name(doc: _Document, value) -> tuple[str, str]:
    path = ("name",)
    if not isinstance(value, dict):
        doc.error(path, "must be a mapping {zh: ..., en: ...}")
        return "", ""
    for extra in sorted(set(map(str, value)) - {"zh", "en"}):
        doc.error(path + (extra,), "unknown field (expected zh and en)")
    texts = []
    for lang in ("zh", "en"):
        text = value.get(lang)
        if text is None:
            text = ""
        if not isinstance(text, str):
            doc.error(path + (lang,), "must be text")
            text = ""
        text = text.strip()
        if len(text) > NAME_MAX:
            doc.error(path + (lang,), f"is longer than {NAME_MAX} characters")
        texts.append(text)
    if not texts[0]:
        doc.error(path + ("zh",), "the Chinese name is required")
    return texts[0], texts[1]


def _parse_audience(doc: _Document, value, path: FieldPath = ("audience",), *, allow_empty: bool = False) -> list[Department]:
    if value is None and allow_empty:
        return []
    if not isinstance(value, list) or (not value and not allow_empty):
        doc.error(path, "must be a non-empty list of department codes")
        return []
    codes: dict[str, FieldPath] = {}
    for index, item in enumerate(value):
        code = doc.text(path + (index,), item)
        if not code:
            doc.error(path + (index,), "must be a department code")
        elif code in codes:
            doc.error(path + (index,), f"department '{code}' is listed twice")
        else:
            codes[code] = path + (index,)
    found = {}
    for chunk in _chunks(list(codes)):
        found.update({d.code: d for d in db.session.execute(
            select(Department).where(Department.code.in_(chunk))).scalars()})
    departments = []
    for code, item_path in codes.items():
        department = found.get(code)
        if department is None:
            doc.error(item_path, f"unknown department '{code}'")
        elif not department.active:
            doc.error(item_path, f"department '{code}' is inactive")
        else:
            departments.append(department)
    return departments


def _parse_milestones(doc: _Document, value, starts_on: dt.date | None,
                      ends_on: dt.date | None, path: FieldPath = ("milestones",), whose: str = "plan") -> dict[dt.date, Decimal]:
    if not isinstance(value, list) or not value:
        doc.error(path, "must be a non-empty list of {due_on: DATE, target_percent: NUMBER}")
        return {}
    milestones: dict[dt.date, tuple[Decimal, FieldPath]] = {}
    for index, item in enumerate(value):
        item_path = path + (index,)
        if not isinstance(item, dict):
            doc.error(item_path, "must be a mapping {due_on: DATE, target_percent: NUMBER}")
            continue
        for extra in sorted(set(map(str, item)) - {"due_on", "target_percent"}):
            doc.error(item_path + (extra,), "unknown field (expected due_on and target_percent)")
        due_on = target = None
        if item.get("due_on") is None:
            doc.error(item_path + ("due_on",), "is required")
        else:
            due_on = _date(doc, item_path + ("due_on",), item["due_on"])
        if item.get("target_percent") is None:
            doc.error(item_path + ("target_percent",), "is required")
        else:
            target = _percent(doc, item_path + ("target_percent",), item["target_percent"])
        if due_on is None:
            continue
        if due_on in milestones:
            doc.error(item_path + ("due_on",), f"another milestone is already due on {due_on}")
            continue
        if starts_on and due_on < starts_on:
            doc.error(item_path + ("due_on",), f"{due_on} is before the {whose} starts ({starts_on})")
        if ends_on and due_on > ends_on:
            doc.error(item_path + ("due_on",), f"{due_on} is after the {whose} ends ({ends_on})")
        if target is not None:
            milestones[due_on] = (target, item_path)
    previous = None
    for due_on in sorted(milestones):
        target, item_path = milestones[due_on]
        if previous is not None and target < previous[1]:
            doc.error(item_path + ("target_percent",),
                      f"targets may not decrease over time: {target:f} % on {due_on} is below "
                      f"{previous[1]:f} % on {previous[0]}")
        previous = (due_on, target)
    return {due_on: target for due_on, (target, _) in sorted(milestones.items())}


def _parse_exemptions(doc: _Document, value) -> dict[int, str]:
    path = ("exemptions",)
    if value is None:
        return {}
    if not isinstance(value, list):
        doc.error(path, "must be a list of {staff_number: TEXT, reason: TEXT}")
        return {}
    wanted: dict[str, tuple[str, FieldPath]] = {}
    for index, item in enumerate(value):
        item_path = path + (index,)
        if not isinstance(item, dict):
            doc.error(item_path, "must be a mapping {staff_number: TEXT, reason: TEXT}")
            continue
        for extra in sorted(set(map(str, item)) - {"staff_number", "reason"}):
            doc.error(item_path + (extra,), "unknown field (expected staff_number and reason)")
        number = doc.text(item_path + ("staff_number",), item.get("staff_number"))
        reason = item.get("reason")
        reason = reason.strip() if isinstance(reason, str) else ""
        if not number:
            doc.error(item_path + ("staff_number",), "is required")
        elif number in wanted:
            doc.error(item_path + ("staff_number",), f"staff number '{number}' is exempted twice")
            continue
        if not reason:
            doc.error(item_path + ("reason",), "an exemption needs a reason (e.g. 长期病假, 借调)")
        if number:
            wanted[number] = (reason, item_path)
    found: dict[str, int] = {}
    for chunk in _chunks(list(wanted)):
        found.update(dict(db.session.execute(
            select(User.staff_number, User.id).where(User.staff_number.in_(chunk))).all()))
    exemptions = {}
    for number, (reason, item_path) in wanted.items():
        if number not in found:
            doc.error(item_path + ("staff_number",), f"unknown staff number '{number}'")
        elif reason:
            exemptions[found[number]] = reason
    return exemptions


def _parse_positions(doc: _Document, value, name: str = "positions") -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list):
        doc.error((name,), "must be a list of names (e.g. [科员, 科长])")
        return []
    out = []
    for index, item in enumerate(value):
        text = doc.text((name, index), item)
        if not text:
            doc.error((name, index), "must be a name")
        elif len(text) > 100:
            doc.error((name, index), "is longer than 100 characters")
        elif text not in out:
            out.append(text)
    return out


def _parse_courses(doc: _Document, value) -> list[int]:
    path = ("courses",)
    if value is None:
        return []
    if not isinstance(value, list):
        doc.error(path, "must be a list of course slugs")
        return []
    slugs: dict[str, FieldPath] = {}
    for index, item in enumerate(value):
        slug = doc.text(path + (index,), item)
        if not slug:
            doc.error(path + (index,), "must be a course slug")
        elif slug in slugs:
            doc.error(path + (index,), f"course '{slug}' is listed twice")
        else:
            slugs[slug] = path + (index,)
    found = dict(db.session.execute(select(Course.slug, Course.id).where(Course.slug.in_(list(slugs)))).all()) \
        if slugs else {}
    for slug, item_path in slugs.items():
        if slug not in found:
            doc.error(item_path, f"unknown course '{slug}'")
    return [found[s] for s in slugs if s in found]


def _parse_due(doc: _Document, value) -> tuple[str, int | None]:
    path = ("due",)
    if value is None:
        return DUE_FIXED, None
    if not isinstance(value, dict):
        doc.error(path, "must be a mapping {rule: fixed|after_hire|after_transfer, days: NUMBER}")
        return DUE_FIXED, None
    for extra in sorted(set(map(str, value)) - {"rule", "days"}):
        doc.error(path + (extra,), "unknown field (expected rule and days)")
    rule = value.get("rule", DUE_FIXED)
    if rule not in DUE_RULES:
        doc.error(path + ("rule",), f"must be one of {', '.join(DUE_RULES)}, not {rule!r}")
        return DUE_FIXED, None
    days = value.get("days")
    if rule == DUE_FIXED:
        if days is not None:
            doc.error(path + ("days",), "is only for the after_hire and after_transfer rules")
        return rule, None
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= 3650:
        doc.error(path + ("days",), f"must be a whole number of days from 1 to 3650, not {days!r}")
        return rule, None
    return rule, days


def _parse_waves(doc: _Document, value) -> list[WaveInput]:
    path = ("waves",)
    if value is None:
        return []
    if not isinstance(value, list):
        doc.error(path, "must be a list of {name: TEXT, starts_on: DATE, ends_on: DATE, departments: [CODE, ...], "
                        "milestones: [{due_on: DATE, target_percent: NUMBER}, ...] (optional)}")
        return []
    waves = []
    for index, item in enumerate(value):
        item_path = path + (index,)
        if not isinstance(item, dict):
            doc.error(item_path, "must be a mapping {name, starts_on, ends_on, departments, milestones}")
            continue
        for extra in sorted(set(map(str, item)) - {"name", "starts_on", "ends_on", "departments", "milestones"}):
            doc.error(item_path + (extra,),
                      "unknown field (expected name, starts_on, ends_on, departments and optional milestones)")
        name = doc.text(item_path + ("name",), item.get("name")) or ""
        if not name:
            doc.error(item_path + ("name",), "is required")
        dates = []
        for key in ("starts_on", "ends_on"):
            if item.get(key) is None:
                doc.error(item_path + (key,), "is required")
                dates.append(None)
            else:
                dates.append(_date(doc, item_path + (key,), item[key]))
        departments = _parse_audience(doc, item.get("departments"), item_path + ("departments",))
        milestones = {}
        if item.get("milestones") is not None:
            ordered = dates[0] is not None and dates[1] is not None and dates[0] <= dates[1]
            milestones = _parse_milestones(doc, item["milestones"], dates[0] if ordered else None,
                                           dates[1] if ordered else None, item_path + ("milestones",), "wave")
        waves.append(WaveInput(name=name, starts_on=dates[0], ends_on=dates[1],
                               department_ids=[d.id for d in departments], milestones=list(milestones.items())))
    return waves


def _parse(doc: _Document) -> _PlanSpec | None:
    data = doc.data
    if not isinstance(data, dict):
        doc.errors.append(f"{doc.path}: expected one plan: a mapping with {', '.join(REQUIRED_FIELDS)}")
        return None
    for extra in sorted(set(map(str, data)) - set(TOP_LEVEL_FIELDS)):
        doc.error((extra,), f"unknown field (expected {', '.join(TOP_LEVEL_FIELDS)})")
    for name in REQUIRED_FIELDS:
        if data.get(name) is None:
            doc.error((name,), "is required")

    key = doc.text(("key",), data.get("key")) or ""
    if data.get("key") is not None and not KEY_PATTERN.fullmatch(key):
        doc.error(("key",), "must be 1–80 letters, digits, '.', '_' or '-', starting with a letter or digit")
    name_zh, name_en = _parse_name(doc, data["name"]) if data.get("name") is not None else ("", "")

    certification = None
    if data.get("certification") is not None:
        code = doc.text(("certification",), data["certification"])
        certification = db.session.execute(
            select(Certification).where(Certification.code == code)).scalar_one_or_none() if code else None
        if certification is None:
            doc.error(("certification",), f"unknown certification '{code or data['certification']}'")
        elif not certification.active and data.get("active", True) is True:
            doc.error(("certification",), f"certification '{code}' is retired; an active plan needs an active one")

    if data.get("certification") is None and not data.get("courses"):
        doc.error(("certification",), "is required unless the plan names courses (a plan requires a certification, "
                                      "courses, or both)")
    audience = _parse_audience(doc, data["audience"]) if data.get("audience") is not None else []
    starts_on = _date(doc, ("starts_on",), data["starts_on"]) if data.get("starts_on") is not None else None
    ends_on = _date(doc, ("ends_on",), data["ends_on"]) if data.get("ends_on") is not None else None
    if starts_on and ends_on and ends_on < starts_on:
        doc.error(("ends_on",), f"{ends_on} is before starts_on ({starts_on})")
        starts_on = ends_on = None  # milestone range checks would only repeat this error
    milestones = (_parse_milestones(doc, data["milestones"], starts_on, ends_on)
                  if data.get("milestones") is not None else {})
    exemptions = _parse_exemptions(doc, data.get("exemptions"))
    exclusions = _parse_audience(doc, data.get("exclusions"), ("exclusions",), allow_empty=True)
    positions = _parse_positions(doc, data.get("positions"))
    grades = _parse_positions(doc, data.get("grades"), "grades")
    courses = _parse_courses(doc, data.get("courses"))
    due_rule, due_days = _parse_due(doc, data.get("due"))
    waves = _parse_waves(doc, data.get("waves"))
    active = data.get("active", True)
    if not isinstance(active, bool):
        doc.error(("active",), "must be true or false")

    if doc.errors:
        return None
    return _PlanSpec(key=key, name_zh=name_zh, name_en=name_en, certification=certification, audience=audience,
                     starts_on=starts_on, ends_on=ends_on, milestones=milestones, exemptions=exemptions,
                     active=active, exclusions=exclusions, positions=positions, grades=grades, courses=courses, due_rule=due_rule, due_days=due_days,
                     waves=waves)


def _audience_warnings(spec: _PlanSpec, doc: _Document) -> list[str]:
    if not spec.exemptions:
        return []
    inside = set()
    audience = subtree_ids([d.id for d in spec.audience])
    user_ids = list(spec.exemptions)
    for chunk in _chunks(user_ids):
        inside.update(db.session.execute(
            select(User.id).where(User.id.in_(chunk), User.department_id.in_(audience))).scalars())
    outside = [uid for uid in user_ids if uid not in inside]
    if not outside:
        return []
    numbers = dict(db.session.execute(select(User.id, User.staff_number).where(User.id.in_(outside[:10]))).all())
    shown = ", ".join(numbers[uid] for uid in outside[:10]) + (" …" if len(outside) > 10 else "")
    return [f"{doc.path}: {len(outside)} exempted staff member(s) are not in the plan's audience: {shown}"]


def load_plan_file(path: Path) -> PlanSummary:
    """Validate the plan in YAML file ``path``, then create or update it (matched by ``key``).

    All-or-nothing: every problem is collected first and raised together as
    :class:`~app.content.report.ContentError` (lines ``FILE[:LINE]: field 'x': message``; YAML syntax
    errors as ``FILE:LINE: YAML syntax error: …``); nothing is written then. Otherwise the plan's
    fields and audience are set, its milestones and exemptions become exactly the file's (matched by
    due date and by staff member, so unchanged rows stay untouched), and, if the plan is active, the
    audience is enrolled in the required courses. The writing is :func:`app.rollout.editing.save_plan`,
    the service the admin pages use too (audited as ``rollout_plan.create`` / ``update`` with source
    ``yaml``). Loading the same file again reports ``unchanged`` and creates nothing.

    Flushes only; the caller commits (or rolls back for a dry run). Returns a :class:`PlanSummary`.
    """
    # Unreadable file or YAML syntax error: ContentError with the line. Impossible dates stay text
    # here and are reported per field below.
    load_yaml(path, loader=_PlanLoader)
    doc = _Document(path, path.read_text(encoding="utf-8"))
    spec = _parse(doc)
    if spec is None:
        raise ContentError(doc.errors)

    # Lock the plan's row (PostgreSQL) so two loads of the same key cannot interleave.
    plan = db.session.execute(
        select(RolloutPlan).where(RolloutPlan.key == spec.key).with_for_update()).scalar_one_or_none()
    warnings = _audience_warnings(spec, doc)
    if plan is not None and plan.ends_on != spec.ends_on:
        warnings.append(f"{doc.path}: ends_on moved from {plan.ends_on} to {spec.ends_on}; existing "
                        "enrolments keep their due date (only new enrolments are due on the new date)")
    data = PlanInput(key=spec.key, name_zh=spec.name_zh, name_en=spec.name_en,
                     certification_id=spec.certification.id if spec.certification else None, starts_on=spec.starts_on, ends_on=spec.ends_on,
                     audience_ids=[d.id for d in spec.audience], exclusion_ids=[d.id for d in spec.exclusions],
                     positions=spec.positions, grades=spec.grades, course_ids=spec.courses, due_rule=spec.due_rule, due_days=spec.due_days,
                     milestones=list(spec.milestones.items()), active=spec.active, waves=spec.waves,
                     exemptions=spec.exemptions)
    try:
        saved = save_plan(None, data, plan, source="yaml")
    except PlanInvalid as invalid:  # rules the service checks beyond the file's own (e.g. exclusions inside the audience)
        raise ContentError([f"{doc.path}: field '{name}': {message}"
                            for name, messages in invalid.errors.items() for message in messages]) from None
    return PlanSummary(key=spec.key, action=saved.action, plan_id=saved.plan.id, milestones=len(spec.milestones),
                       exemptions=len(spec.exemptions), new_enrolments=saved.assigned.created,
                       changes=saved.changes, warnings=warnings)

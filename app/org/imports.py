"""The organisation and its staff from CSV files (what HR offices export from Excel or WPS).

:func:`import_departments` and :func:`import_staff` read a whole file, check every row and collect
every problem as ``FILE:LINE: field 'x': message`` (line 1 is the header). If there is any problem
they raise :class:`~app.content.report.ContentError` before writing anything; otherwise they write
(upsert by code / staff number) and flush. The caller commits, or rolls back for a dry run.

Files are read as UTF-8 (with or without BOM) and, if that fails to decode, as GB18030 (a superset
of GBK, what Excel and WPS write on Chinese Windows). The delimiter (comma, semicolon or tab) is
sniffed from the header line. Every value is stripped of surrounding whitespace and kept as text,
so staff numbers keep their leading zeros. Column rules are in ``docs/content-format.md``.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import re
import zipfile
from dataclasses import dataclass, field
from types import SimpleNamespace
from pathlib import Path

from sqlalchemy import delete, insert, select, update

from app.auth.models import OfficerScope, User, UserSession
from app.auth.services import (MIN_PASSWORD_LENGTH, codes_allowed, current_password_authority, issue_sign_in_codes,
                               sign_in_code_expiry)
from app.content.report import ContentError
from app.core.security import hash_password
from app.core.time import utcnow
from app.extensions import db
from app.org.models import Department, StaffTransfer
from app.org.services import create_department, rebuild_closure

DEPARTMENT_REQUIRED = ("code", "name", "parent_code")
DEPARTMENT_OPTIONAL = ("name_en", "sort_order")
STAFF_REQUIRED = ("staff_number", "name", "department_code")
STAFF_OPTIONAL = ("position", "grade", "email", "active", "is_admin", "officer_of", "password", "effective_date")

# MIN_PASSWORD_LENGTH (set_password's rule for initial passwords) is checked up front so that every
# short password in a file is reported (set_password itself is only called once the file is valid).

YES = frozenset({"是", "yes", "1", "true"})
NO = frozenset({"否", "no", "0", "false"})
OFFICER_SEPARATORS = re.compile(r"[;；]")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# Codes are referred to from officer_of lists and CLI arguments: no spaces or separators.
BAD_CODE_CHARS = re.compile(r"[\s,;；，]")
INT32 = (-(2**31), 2**31 - 1)
_CHUNK = 500  # values per IN (...) list
_DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab"}


@dataclass
class ImportSummary:
    """What an import did (or, before a dry run's rollback, would do).

    ``kind`` is ``"department"`` or ``"staff"``; ``encoding`` the codec the file was read with
    (``"utf-8-sig"`` or ``"gb18030"``); ``delimiter`` the sniffed one; ``rows`` the data rows read.
    Every row is counted once in ``created``, ``updated`` or ``unchanged``. ``moved`` (departments
    whose parent changed) and ``deactivated`` (staff whose ``active`` went from yes to no) are
    subsets of ``updated``. ``passwords_set`` counts new staff given an initial password;
    ``without_password`` new staff who got none: each gets a personal single-use sign-in code instead,
    listed in ``sign_in_codes`` as ``(staff_number, name, code)`` (expiring at ``codes_expire_at``);
    ``passwords_ignored`` password cells of existing staff, which are not applied. ``transferred``
    (staff whose department changed; each writes a :class:`~app.org.models.StaffTransfer`) is a subset of
    ``updated``. With ``deactivate_missing``, ``deactivated_missing`` counts active staff absent from the
    file who were deactivated (not part of ``rows``) and ``kept_admins`` administrators absent from the
    file who were left active. ``encoding`` is ``"xlsx"`` for a workbook. ``changes`` has one line per created
    or updated row, e.g. ``"updated department CITY-CZJ: name, parent"`` (never a password).
    """

    kind: str
    path: Path
    encoding: str
    delimiter: str
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    moved: int = 0
    closure_rebuilt: bool = False
    deactivated: int = 0
    passwords_set: int = 0
    without_password: int = 0
    passwords_ignored: int = 0
    transferred: int = 0
    deactivate_missing: bool = False
    deactivated_missing: int = 0
    kept_admins: int = 0
    changes: list[str] = field(default_factory=list)
    sign_in_codes: list[tuple[str, str, str]] = field(default_factory=list)
    codes_expire_at: object = None  # aware UTC datetime when sign_in_codes stop working
    directory_sign_in: int = 0  # new staff without a password given no code: the directory (LDAP) checks passwords

    @property
    def changed(self) -> bool:
        """True if any row was created or updated."""
        return bool(self.created or self.updated)

    def lines(self) -> list[str]:
        """Human-readable summary lines for the CLI."""
        encoding = "UTF-8" if self.encoding == "utf-8-sig" else self.encoding.upper()
        delimiter = _DELIMITER_NAMES.get(self.delimiter, repr(self.delimiter))
        if self.encoding == "xlsx":
            lines = [f"{self.path}: {self.rows} row(s), read as an XLSX workbook (first sheet)"]
        else:
            lines = [f"{self.path}: {self.rows} row(s), read as {encoding}, {delimiter}-separated"]
        updated = f"{self.updated} updated"
        if self.kind == "department" and self.moved:
            updated += f" ({self.moved} moved)"
        if self.kind == "staff" and (self.deactivated or self.transferred):
            parts = [f"{self.deactivated} deactivated"] if self.deactivated else []
            parts += [f"{self.transferred} transferred"] if self.transferred else []
            updated += f" ({', '.join(parts)})"
        line = f"{self.kind}: {self.created} created, {updated}, {self.unchanged} unchanged"
        if self.kind == "department" and self.closure_rebuilt:
            line += "; closure table rebuilt"
        if self.kind == "staff" and self.passwords_set:
            line += f"; {self.passwords_set} password(s) set"
        lines.append(line)
        if self.kind == "staff" and self.deactivate_missing:
            lines.append(f"{self.deactivated_missing} active staff not in the file deactivated"
                         + (f" ({self.kept_admins} administrator(s) not in the file kept active)"
                            if self.kept_admins else ""))
        if self.passwords_ignored:
            lines.append(f"warning: {self.passwords_ignored} password cell(s) of existing staff were ignored: the "
                         "file only sets initial passwords; use `flask users reset-password STAFF_NUMBER`")
        if self.sign_in_codes:
            lines.append(f"{len(self.sign_in_codes)} sign-in code(s) issued to new staff without a password "
                         "(single use; they sign in at /login/code and choose a password)")
        if self.directory_sign_in:
            lines.append(f"{self.directory_sign_in} new staff without a password got no sign-in code: they sign in "
                         "with their directory (LDAP) password")
        return lines


# --- reading --------------------------------------------------------------------------------


@dataclass
class _Table:
    path: Path
    encoding: str
    delimiter: str
    columns: set[str]
    rows: list[tuple[int, dict[str, str]]]  # (line number, column -> stripped value; "" if absent)


class _Errors(list):
    """Error lines for one file, in the ``FILE:LINE: field 'x': message`` format."""

    def __init__(self, path: Path):
        super().__init__()
        self.path = path

    def add(self, line: int, column: str, message: str) -> None:
        self.append(f"{self.path}:{line}: field '{column}': {message}")

    def add_line(self, line: int, message: str) -> None:
        self.append(f"{self.path}:{line}: {message}")


XLSX_MAGIC = b"PK\x03\x04"
MAX_XLSX_UNCOMPRESSED = 256 * 1024 * 1024  # bytes, all members of the zip together
MAX_XLSX_RATIO = 200  # uncompressed / compressed size of any member (real sheets: about 5-20)
MAX_XLSX_MEMBERS = 10_000


def _read_bytes(path: Path, data: bytes | None) -> bytes:
    if data is not None:
        return data
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ContentError([f"{path}: cannot read file ({exc.strerror or exc})"]) from exc


def _decode(path: Path, raw: bytes) -> tuple[str, str]:
    """Return ``(text, encoding)``: UTF-8 (BOM optional) first, then GB18030."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ContentError([f"{path}: the file is UTF-16 (Excel's \"Unicode Text\"); "
                            "save it as \"CSV UTF-8\" or \"CSV\" instead"])
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = raw.decode(encoding)
        except UnicodeDecodeError:
            continue
        if "\x00" in text:
            raise ContentError([f"{path}: the file contains NUL bytes (UTF-16 or not a text file); "
                                "save it as \"CSV UTF-8\""])
        return text, encoding
    raise ContentError([f"{path}: cannot decode the file as UTF-8 or GB18030"])


def _sniff_delimiter(text: str) -> str:
    header = text.splitlines()[0] if text else ""
    try:
        return csv.Sniffer().sniff(header, delimiters=",;\t").delimiter
    except csv.Error:
        return ","


def check_xlsx(path: Path | str, raw: bytes) -> None:
    """Refuse an XLSX file that is not a plain workbook before openpyxl parses it.

    Checks, reading only the zip directory (no member is inflated): the ``PK\\x03\\x04`` magic,
    a readable zip with ``xl/workbook.xml``, at most MAX_XLSX_MEMBERS members, at most
    MAX_XLSX_UNCOMPRESSED bytes uncompressed in all, and no member inflating more than
    MAX_XLSX_RATIO times (a zip bomb). Raises ContentError with one ``FILE: message`` line.
    """
    if not raw.startswith(XLSX_MAGIC):
        raise ContentError([f"{path}: not an XLSX workbook (the content is not a zip file)"])
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise ContentError([f"{path}: not a readable XLSX workbook ({exc})"]) from exc
    names = {info.filename for info in infos}
    if "xl/workbook.xml" not in names:
        raise ContentError([f"{path}: not an XLSX workbook (no xl/workbook.xml)"])
    if len(infos) > MAX_XLSX_MEMBERS:
        raise ContentError([f"{path}: the workbook has too many parts ({len(infos)})"])
    total = sum(info.file_size for info in infos)
    if total > MAX_XLSX_UNCOMPRESSED:
        raise ContentError([f"{path}: the workbook is too large once unpacked ({total // 2**20} MiB, "
                            f"at most {MAX_XLSX_UNCOMPRESSED // 2**20} MiB)"])
    for info in infos:
        if info.file_size > 1_000_000 and info.file_size > MAX_XLSX_RATIO * max(info.compress_size, 1):
            raise ContentError([f"{path}: the workbook part {info.filename} is compressed suspiciously "
                                "well (a zip bomb?); save the file again from Excel or WPS"])


def _cell_text(value) -> str:
    """An XLSX cell as the text a CSV export would hold: whole numbers without ``.0``, dates as ISO."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value).strip()


def _xlsx_records(path: Path, raw: bytes):
    """Yield ``(row number, [cell text, ...])`` of the first worksheet (openpyxl read-only mode)."""
    import openpyxl

    check_xlsx(path, raw)
    try:
        workbook = openpyxl.load_workbook(io.BytesIO(raw), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a damaged workbook
        raise ContentError([f"{path}: cannot open the XLSX workbook ({type(exc).__name__}: {exc})"]) from exc
    try:
        sheet = workbook.worksheets[0]
        for number, row in enumerate(sheet.iter_rows(values_only=True), start=1):
            yield number, [_cell_text(value) for value in row]
    except ContentError:
        raise
    except Exception as exc:
        raise ContentError([f"{path}: cannot read the XLSX workbook ({type(exc).__name__}: {exc})"]) from exc
    finally:
        workbook.close()


def _is_xlsx(path: Path, raw: bytes) -> bool:
    return raw.startswith(XLSX_MAGIC) or path.suffix.lower() in (".xlsx", ".xlsm")


def _read_csv(path: Path, required: tuple[str, ...], optional: tuple[str, ...], errors: _Errors,
              data: bytes | None = None) -> _Table:
    """Read ``path`` (CSV or XLSX, by content; ``data`` instead of the file's bytes if given) into a
    :class:`_Table`; row-shape problems go to ``errors``.

    Raises ContentError at once if the file cannot be read or decoded, is empty, lacks a
    required column or names a column twice (nothing else can be checked then).
    """
    raw = _read_bytes(path, data)
    if _is_xlsx(path, raw):
        encoding, delimiter = "xlsx", ""
        records = _xlsx_records(path, raw)
        header_record = next(records, (1, []))[1]
        reader = None
    else:
        text, encoding = _decode(path, raw)
        delimiter = _sniff_delimiter(text)
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
        try:
            header_record = next(reader, None)
        except csv.Error as exc:
            raise ContentError([f"{path}:1: CSV syntax error in the header: {exc}"]) from exc
    header = [cell.strip().lower() for cell in header_record or []]
    if not any(header):
        raise ContentError([f"{path}:1: the header line is missing (expected {', '.join(required)})"])
    known = set(required) | set(optional)
    header_errors = _Errors(path)
    seen: set[str] = set()
    fatal = False
    for column in header:
        if not column:
            continue
        if column in seen:
            header_errors.add(1, column, "the column appears twice in the header")
            fatal = True
        elif column not in known:
            header_errors.add(1, column, "unknown column (columns: " + ", ".join(required + optional) + ")")
        seen.add(column)
    for column in required:
        if column not in seen:
            header_errors.add(1, column, "required column is missing from the header")
            fatal = True
    if fatal:  # rows cannot be read reliably: report the header alone
        raise ContentError(list(errors) + list(header_errors))
    errors.extend(header_errors)

    rows: list[tuple[int, dict[str, str]]] = []

    def add_record(line: int, record: list[str]) -> None:
        if not any(cell.strip() for cell in record):
            return  # blank line (or a row of empty cells, as Excel leaves at the end)
        values = {column: "" for column in known}
        extra = 0
        for index, cell in enumerate(record):
            column = header[index] if index < len(header) else ""
            if column in known:
                values[column] = cell.strip()
            elif cell.strip():
                extra += 1
        if extra:
            errors.add_line(line, f"{extra} value(s) outside the header's columns "
                                  "(a value containing the delimiter must be quoted)")
        rows.append((line, values))

    if reader is None:
        for line, record in records:
            add_record(line, record)
        return _Table(path, encoding, delimiter, seen & known, rows)

    previous_end = reader.line_num
    while True:
        try:
            record = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            errors.add_line(reader.line_num, f"CSV syntax error ({exc}); the rest of the file was not read")
            break
        line, previous_end = previous_end + 1, reader.line_num
        add_record(line, record)
    return _Table(path, encoding, delimiter, seen & known, rows)


def _check_length(errors: _Errors, line: int, column: str, value: str, limit: int) -> None:
    if len(value) > limit:
        errors.add(line, column, f"is {len(value)} characters long (at most {limit})")


def _check_code(errors: _Errors, line: int, column: str, value: str, limit: int = 40) -> bool:
    """Report an empty, too long or malformed code; True if it is fine."""
    if not value:
        errors.add(line, column, "is empty")
        return False
    if BAD_CODE_CHARS.search(value):
        errors.add(line, column, f"{value!r} contains a space, comma or semicolon")
        return False
    if len(value) > limit:
        errors.add(line, column, f"is {len(value)} characters long (at most {limit})")
        return False
    return True


def _parse_flag(errors: _Errors, line: int, column: str, value: str) -> bool | None:
    """是/否, yes/no, 1/0, true/false (any case); empty gives None (keep / default)."""
    if not value:
        return None
    word = value.lower()
    if word in YES:
        return True
    if word in NO:
        return False
    errors.add(line, column, f"{value!r} is not one of 是/否, yes/no, 1/0, true/false")
    return None


def _chunks(values: list[str]):
    for start in range(0, len(values), _CHUNK):
        yield values[start:start + _CHUNK]


# --- departments ----------------------------------------------------------------------------


@dataclass
class _DepartmentRow:
    line: int
    code: str
    name: str
    parent_code: str | None
    name_en: str | None  # None: keep the stored value
    sort_order: int | None  # None: keep the stored value (0 for a new department)


def import_departments(path: Path, *, data: bytes | None = None) -> ImportSummary:
    """Create or update departments from a CSV file; upsert by ``code``. Flushes; caller commits.

    Columns: ``code,name,parent_code`` (required; empty parent_code = a root) and optionally
    ``name_en,sort_order`` (empty = keep the stored value). A parent may come after its children
    in the file or already be in the database. Departments not in the file are left alone.
    A department whose parent changes is moved with its subtree; the closure table
    (``department_closure``) and ``Department.depth`` are then recomputed once at the end
    by :func:`~app.org.services.rebuild_closure`.

    Returns an :class:`ImportSummary`. Raises ContentError with every problem (missing or unknown
    columns, empty or malformed code or name, duplicate codes, unknown parent, a cycle, a bad
    sort_order, too long values) before anything is written.
    """
    path = Path(path)
    errors = _Errors(path)
    table = _read_csv(path, DEPARTMENT_REQUIRED, DEPARTMENT_OPTIONAL, errors, data)
    existing = {d.code: d for d in db.session.execute(select(Department)).scalars()}

    parsed: list[_DepartmentRow] = []
    by_code: dict[str, _DepartmentRow] = {}
    for line, v in table.rows:
        code = v["code"]
        code_ok = _check_code(errors, line, "code", code)
        if code_ok and code in by_code:
            errors.add(line, "code", f"duplicate code {code!r} (first on line {by_code[code].line})")
            code_ok = False
        if not v["name"]:
            errors.add(line, "name", "is empty")
        _check_length(errors, line, "name", v["name"], 200)
        _check_length(errors, line, "name_en", v["name_en"], 200)
        parent_code = v["parent_code"] or None
        if parent_code is not None and parent_code == code:
            errors.add(line, "parent_code", "a department cannot be its own parent")
        sort_order = None
        if v["sort_order"]:
            try:
                sort_order = int(v["sort_order"])
            except ValueError:
                errors.add(line, "sort_order", f"{v['sort_order']!r} is not a whole number")
            else:
                if not INT32[0] <= sort_order <= INT32[1]:
                    errors.add(line, "sort_order", f"{sort_order} is out of range")
        row = _DepartmentRow(line, code, v["name"], parent_code, v["name_en"] or None, sort_order)
        parsed.append(row)
        if code_ok:
            by_code[code] = row

    for row in parsed:
        if row.parent_code and row.parent_code != row.code and row.parent_code not in by_code \
                and row.parent_code not in existing:
            errors.add(row.line, "parent_code",
                       f"unknown department {row.parent_code!r} (neither in this file nor in the database)")

    # The tree as it would be after the import: stored parents, overlaid with the file's.
    final_parent = {code: (d.parent.code if d.parent is not None else None) for code, d in existing.items()}
    for code, row in by_code.items():
        known_parent = row.parent_code in by_code or row.parent_code in existing
        final_parent[code] = row.parent_code if known_parent and row.parent_code != code else None
    _check_cycles(final_parent, by_code, errors)

    if errors:
        raise ContentError(list(errors))

    summary = ImportSummary("department", path, table.encoding, table.delimiter, rows=len(parsed))
    new_rows = [row for row in parsed if row.code not in existing]
    moves: list[tuple[Department, str | None]] = []
    for row in parsed:
        department = existing.get(row.code)
        if department is None:
            continue
        changed = []
        if department.name != row.name:
            department.name = row.name
            changed.append("name")
        if row.name_en is not None and department.name_en != row.name_en:
            department.name_en = row.name_en
            changed.append("name_en")
        if row.sort_order is not None and department.sort_order != row.sort_order:
            department.sort_order = row.sort_order
            changed.append("sort_order")
        old_parent = department.parent.code if department.parent is not None else None
        if old_parent != row.parent_code:
            moves.append((department, row.parent_code))
            changed.append(f"parent ({old_parent or '-'} → {row.parent_code or '-'})")
        if changed:
            summary.updated += 1
            summary.changes.append(f"updated department {row.code}: {', '.join(changed)}")
        else:
            summary.unchanged += 1

    # New departments parents first, so each create_department finds its parent's closure rows.
    created: dict[str, Department] = {}

    def create(row: _DepartmentRow) -> Department:
        parent = None
        if row.parent_code is not None:
            parent = existing.get(row.parent_code) or created.get(row.parent_code)
            if parent is None:
                parent = create(by_code[row.parent_code])
        department = create_department(row.code, row.name, parent, name_en=row.name_en,
                                       sort_order=row.sort_order or 0)
        created[row.code] = department
        summary.created += 1
        summary.changes.append(f"created department {row.code} {row.name}")
        return department

    for row in new_rows:
        if row.code not in created:
            create(row)

    if moves:
        for department, parent_code in moves:
            department.parent = (existing.get(parent_code) or created.get(parent_code)) if parent_code else None
        summary.moved = len(moves)
        db.session.flush()
        rebuild_closure()  # also recomputes Department.depth
        summary.closure_rebuilt = True
    db.session.flush()
    return summary


def _check_cycles(final_parent: dict[str, str | None], by_code: dict[str, _DepartmentRow],
                  errors: _Errors) -> None:
    """Report each cycle of the would-be tree once, at the first file line on it."""
    done: set[str] = set()
    for start in by_code:
        path: list[str] = []
        position: dict[str, int] = {}
        node: str | None = start
        while node is not None and node not in done:
            if node in position:
                cycle = path[position[node]:]
                in_file = [c for c in cycle if c in by_code]
                first = min(in_file, key=lambda c: by_code[c].line) if in_file else cycle[0]
                turn = cycle.index(first)
                shown = " → ".join(cycle[turn:] + cycle[:turn] + [first])  # child → parent → …
                line = by_code[first].line if in_file else by_code[start].line
                errors.add(line, "parent_code", f"the tree would have a cycle: {shown}")
                break
            position[node] = len(path)
            path.append(node)
            node = final_parent.get(node)
        done.update(path)


# --- staff ----------------------------------------------------------------------------------


@dataclass
class _StaffRow:
    line: int
    staff_number: str
    name: str
    department_id: int | None
    position: str | None  # None: keep the stored value
    grade: str | None
    email: str | None
    active: bool | None
    is_admin: bool | None
    officer_of: list[int] | None  # None: column absent, scopes untouched
    password: str | None
    effective_at: dt.datetime | None = None  # a transfer's start (aware UTC); None: the import's time


def import_staff(path: Path, *, default_password: str | None = None, deactivate_missing: bool = False,
                 data: bytes | None = None) -> ImportSummary:
    """Create or update staff users from a CSV file; upsert by ``staff_number``. Flushes only.

    Columns: ``staff_number,name,department_code`` (required, the department must exist) and
    optionally ``position,grade,email`` (empty = keep the stored value), ``active,is_admin``
    (是/否, yes/no, 1/0, true/false; empty = keep, new staff: active yes, admin no),
    ``officer_of`` (department codes separated by ``;`` or ``；``: the user's officer scopes
    become exactly these, an empty cell removes them all; without the column scopes are left
    alone) and ``password``. Passwords are initial passwords, for new staff only: the cell's
    (at least MIN_PASSWORD_LENGTH characters, hashed with argon2id) or else ``default_password``
    (hashed once for the whole file; a shared default password is discouraged); such users must
    change it at their first login (``must_change_password``). New staff with neither get a personal
    single-use sign-in code (``summary.sign_in_codes``) with which they choose their own password. Cells of existing staff are ignored and counted, so re-importing a
    file never undoes a password a user has chosen (``flask users reset-password`` resets one).
    Staff not in the file are left alone unless ``deactivate_missing``: then every active user
    whose staff number is not in the file is deactivated, except administrators (kept, counted in
    ``kept_admins``, so an import cannot lock every administrator out); a file without data rows is
    then refused. Every deactivated user's login sessions end and their ``deactivated_at`` is set to the
    import's time (a row reactivating someone clears it), so past rollout figures count them until then.

    A staff member whose department changes is a transfer: a :class:`~app.org.models.StaffTransfer`
    row (from, to, ``effective_at``) is written. ``effective_at`` is 00:00 UTC of the optional
    ``effective_date`` cell (``YYYY-MM-DD``), else the time of the import. The file may be CSV
    (UTF-8, UTF-8 with BOM or GB18030) or XLSX (first sheet), told apart by content; ``data``
    stands for the file's bytes (an upload), ``path`` then only names it in messages.

    Returns an :class:`ImportSummary`. Raises ContentError with every problem (missing or
    unknown columns, empty or duplicate staff numbers, empty names, unknown departments, bad
    flags or e-mail addresses, short passwords, too long values) before anything is written.
    """
    path = Path(path)
    errors = _Errors(path)
    if default_password is not None and len(default_password) < MIN_PASSWORD_LENGTH:
        errors.append(f"default password: must be at least {MIN_PASSWORD_LENGTH} characters")
    table = _read_csv(path, STAFF_REQUIRED, STAFF_OPTIONAL, errors, data)
    if deactivate_missing and not table.rows and not errors:
        raise ContentError([f"{path}: the file has no data rows; with deactivate-missing it would deactivate "
                            "every member of staff"])
    departments = dict(db.session.execute(select(Department.code, Department.id)).all())
    has_officer_column = "officer_of" in table.columns

    parsed: list[_StaffRow] = []
    first_line: dict[str, int] = {}
    for line, v in table.rows:
        number = v["staff_number"]
        if _check_code(errors, line, "staff_number", number):
            if number in first_line:
                errors.add(line, "staff_number", f"duplicate staff number {number!r} (first on line {first_line[number]})")
            else:
                first_line[number] = line
        if not v["name"]:
            errors.add(line, "name", "is empty")
        _check_length(errors, line, "name", v["name"], 100)
        department_id = None
        if not v["department_code"]:
            errors.add(line, "department_code", "is empty")
        elif v["department_code"] not in departments:
            errors.add(line, "department_code",
                       f"unknown department {v['department_code']!r} (import the departments first)")
        else:
            department_id = departments[v["department_code"]]
        _check_length(errors, line, "position", v["position"], 100)
        _check_length(errors, line, "grade", v["grade"], 40)
        _check_length(errors, line, "email", v["email"], 200)
        if v["email"] and not EMAIL.match(v["email"]):
            errors.add(line, "email", f"{v['email']!r} is not an e-mail address")
        active = _parse_flag(errors, line, "active", v["active"])
        is_admin = _parse_flag(errors, line, "is_admin", v["is_admin"])
        officer_of = None
        if has_officer_column:
            codes = [c.strip() for c in OFFICER_SEPARATORS.split(v["officer_of"]) if c.strip()]
            unknown = [c for c in codes if c not in departments]
            if unknown:
                errors.add(line, "officer_of", "unknown department(s) " + ", ".join(repr(c) for c in unknown))
            officer_of = list(dict.fromkeys(departments[c] for c in codes if c in departments))
        password = v["password"] or None
        if password is not None and len(password) < MIN_PASSWORD_LENGTH:
            errors.add(line, "password", f"must be at least {MIN_PASSWORD_LENGTH} characters")
        effective_at = None
        if v["effective_date"]:
            try:
                effective_at = dt.datetime.combine(dt.date.fromisoformat(v["effective_date"][:10]),
                                                   dt.time(), dt.timezone.utc)
            except ValueError:
                errors.add(line, "effective_date", f"{v['effective_date']!r} is not a date (YYYY-MM-DD)")
            else:
                if not dt.date(1950, 1, 1) <= effective_at.date() <= dt.date(2200, 1, 1):
                    errors.add(line, "effective_date", f"{v['effective_date']!r} is out of range")
        parsed.append(_StaffRow(line, number, v["name"], department_id, v["position"] or None,
                                v["grade"] or None, v["email"] or None, active, is_admin, officer_of, password,
                                effective_at))

    if errors:
        raise ContentError(list(errors))
    # The raw cells (a dict per row) are no longer needed: free them before the write phase.
    encoding, delimiter = table.encoding, table.delimiter
    del table

    # Bulk statements throughout (no ORM object per row): 100,000 rows must import in under 60 s and
    # 500 MB (docs/performance.md, "Staff import").
    columns = (User.id, User.staff_number, User.name, User.department_id, User.position, User.grade, User.email,
               User.active, User.is_admin, User.deactivated_at)
    existing: dict[str, tuple] = {}
    for chunk in _chunks([row.staff_number for row in parsed]):
        existing.update((r.staff_number, r) for r in db.session.execute(
            select(*columns).where(User.staff_number.in_(chunk))))
    scopes: dict[int, set[int]] = {}
    if has_officer_column:
        ids = [r.id for r in existing.values()]
        for start in range(0, len(ids), _CHUNK):
            for user_id, department_id in db.session.execute(select(OfficerScope.user_id, OfficerScope.department_id)
                                                             .where(OfficerScope.user_id.in_(ids[start:start + _CHUNK]))):
                scopes.setdefault(user_id, set()).add(department_id)

    summary = ImportSummary("staff", path, encoding, delimiter, rows=len(parsed),
                            deactivate_missing=deactivate_missing)
    now = utcnow()
    department_codes = {department_id: code for code, department_id in departments.items()}
    transfers: list[dict] = []
    ended: list[int] = []  # users deactivated: their sessions end
    # The default password is hashed once and its hash shared by every new user who gets it: an
    # argon2id hash costs ~0.13 s, so hashing per user would take ~45 min for 20,000 staff. Sharing
    # the hash reveals only what is already known (they all have the default password).
    default_hash = None
    if default_password and any(row.password is None and row.staff_number not in existing for row in parsed):
        default_hash = hash_password(default_password)
    attrs = ("name", "department_id", "position", "grade", "email", "active", "is_admin")
    new_users: list[dict] = []
    new_scopes: dict[str, list[int]] = {}
    updates: list[dict] = []
    scope_changes: dict[int, list[int]] = {}
    for row in parsed:
        current = existing.get(row.staff_number)
        if current is None:
            password_hash = hash_password(row.password) if row.password else default_hash
            new_users.append({
                "staff_number": row.staff_number, "name": row.name, "department_id": row.department_id,
                "position": row.position, "grade": row.grade, "email": row.email,
                "active": True if row.active is None else row.active, "is_admin": bool(row.is_admin),
                "is_examiner": False, "failed_logins": 0, "password_hash": password_hash,
                # someone else chose the password, or there is none yet (a sign-in code): replaced at first login
                "must_change_password": True, "created_at": now, "updated_at": now,
            })
            if password_hash:
                summary.passwords_set += 1
            else:
                summary.without_password += 1
            if row.officer_of:
                new_scopes[row.staff_number] = row.officer_of
            summary.created += 1
            summary.changes.append(f"created staff {row.staff_number} {row.name}")
            continue
        values = {attr: getattr(current, attr) for attr in attrs}
        values["deactivated_at"] = current.deactivated_at  # every update row has the same keys
        changed = []
        for attr in attrs:
            wanted = getattr(row, attr)
            if wanted is not None and values[attr] != wanted:
                if attr == "active" and wanted is False:
                    summary.deactivated += 1
                    ended.append(current.id)
                    values["deactivated_at"] = now
                elif attr == "active":  # reactivated
                    values["deactivated_at"] = None
                if attr == "department_id":
                    summary.transferred += 1
                    transfers.append({"user_id": current.id, "from_department_id": current.department_id,
                                      "to_department_id": wanted, "effective_at": row.effective_at or now,
                                      "created_at": now, "source": "import"})
                    changed.append("department ({} → {})".format(
                        department_codes.get(current.department_id, "-"), department_codes[wanted]))
                else:
                    changed.append(attr)
                values[attr] = wanted
        if row.officer_of is not None and set(row.officer_of) != scopes.get(current.id, set()):
            scope_changes[current.id] = row.officer_of
            changed.append("officer_of")
        if row.password is not None:
            summary.passwords_ignored += 1  # initial passwords only: a file never overwrites a chosen one
        if changed:
            if changed != ["officer_of"]:
                updates.append({"id": current.id, **values, "updated_at": now})
            summary.updated += 1
            summary.changes.append(f"updated staff {row.staff_number}: {', '.join(changed)}")
        else:
            summary.unchanged += 1

    in_file = {row.staff_number for row in parsed} if deactivate_missing else set()
    del parsed, existing  # the write phase needs neither (peak memory: docs/performance.md)
    db.session.flush()
    for start in range(0, len(new_users), _CHUNK):
        db.session.execute(insert(User), new_users[start:start + _CHUNK])
    # Who needs a sign-in code, as (staff number, name); then the inserted rows' dicts can go.
    without_password = [(values["staff_number"], values["name"]) for values in new_users if not values["password_hash"]]
    new_numbers = [values["staff_number"] for values in new_users]
    del new_users
    new_ids: dict[str, int] = {}
    for chunk in _chunks(new_numbers):
        new_ids.update((number, user_id) for user_id, number in db.session.execute(
            select(User.id, User.staff_number).where(User.staff_number.in_(chunk))))
    del new_numbers
    for start in range(0, len(updates), _CHUNK):
        db.session.execute(update(User), updates[start:start + _CHUNK])  # by primary key, executemany
    for user_id, department_ids in scope_changes.items():
        db.session.execute(delete(OfficerScope).where(OfficerScope.user_id == user_id))
    scope_rows = [{"user_id": user_id, "department_id": d} for user_id, ids in scope_changes.items() for d in ids]
    scope_rows += [{"user_id": new_ids[number], "department_id": d} for number, ids in new_scopes.items() for d in ids]
    if scope_rows:
        db.session.execute(insert(OfficerScope), scope_rows)
    if transfers:
        db.session.execute(insert(StaffTransfer), transfers)
    if deactivate_missing:
        missing = [(user_id, number, is_admin) for user_id, number, is_admin in db.session.execute(
            select(User.id, User.staff_number, User.is_admin).where(User.active.is_(True))).all()
            if number not in in_file]
        kept = [user_id for user_id, _, is_admin in missing if is_admin]
        gone = [(user_id, number) for user_id, number, is_admin in missing if not is_admin]
        for start in range(0, len(gone), _CHUNK):
            ids = [user_id for user_id, _ in gone[start:start + _CHUNK]]
            db.session.execute(update(User).where(User.id.in_(ids), User.active.is_(True))
                               .values(active=False, updated_at=now, deactivated_at=now).execution_options(synchronize_session=False))
        summary.deactivated_missing, summary.kept_admins = len(gone), len(kept)
        summary.changes.extend(f"deactivated staff {number} (not in the file)" for _, number in gone)
        ended.extend(user_id for user_id, _ in gone)
    for start in range(0, len(ended), _CHUNK):
        db.session.execute(update(UserSession).where(UserSession.user_id.in_(ended[start:start + _CHUNK]),
                                                     UserSession.revoked_at.is_(None))
                           .values(revoked_at=now).execution_options(synchronize_session=False))
    needs_code = [SimpleNamespace(id=new_ids[number], staff_number=number, name=name)
                  for number, name in without_password]
    if needs_code and not codes_allowed(current_password_authority()):
        summary.directory_sign_in = len(needs_code)  # the directory is the only authority: no codes
    elif needs_code:
        codes = issue_sign_in_codes(needs_code)
        summary.sign_in_codes = [(u.staff_number, u.name, codes[u.id]) for u in needs_code]
        summary.codes_expire_at = sign_in_code_expiry(now)
    db.session.expire_all()  # bulk statements bypassed the identity map
    return summary


UPLOAD_MAX_BYTES = 5 * 1024 * 1024
_BINARY_MAGIC = (b"%PDF", b"MZ", b"\x89PNG", b"GIF8", b"\xff\xd8\xff", b"\x7fELF", b"\xd0\xcf\x11\xe0", b"Rar!",
                 b"\x1f\x8b", b"7z\xbc\xaf")


def check_upload(name: str, data: bytes, limit: int = UPLOAD_MAX_BYTES) -> None:
    """Refuse an uploaded HR file quickly, by size and content (never by its name or declared type):
    at most ``limit`` bytes; an XLSX must pass :func:`check_xlsx`; anything else must look like text
    (no NUL byte, not a known binary format such as PDF, images, executables or old ``.xls``).
    Raises ContentError with one ``NAME: message`` line."""
    if not data:
        raise ContentError([f"{name}: the file is empty"])
    if len(data) > limit:
        raise ContentError([f"{name}: the file is too large ({len(data) // 1024} KiB, at most {limit // 1024} KiB)"])
    if data.startswith(XLSX_MAGIC):
        check_xlsx(name, data)
        return
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise ContentError([f"{name}: an old Excel (.xls) file; save it as .xlsx or CSV"])
    if data.startswith(_BINARY_MAGIC) or b"\x00" in data[:65536]:
        raise ContentError([f"{name}: neither a CSV text file nor an XLSX workbook"])

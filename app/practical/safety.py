"""Upload checks for practical tasks: refuse anything that is not a plain, macro-free Office Open XML
file of the expected kind, before any library parses it.

``inspect_upload(data, filename, expected_kind)`` returns None or raises ``UploadRefused(code,
message)``. Checks, in order (cheap first, so a 50 MB upload is refused after one ``len()``):

1. ``too_large`` – more than ``PRACTICAL_MAX_UPLOAD_BYTES`` (default 10 MiB); ``empty`` – no bytes.
2. ``legacy_format`` – OLE compound file (magic ``D0 CF 11 E0``): WPS .wps/.et/.dps and old .doc/.xls/.ppt;
   the message tells how to 另存为 .docx/.xlsx/.pptx in WPS. ``not_office_file`` – no zip magic ``PK\\x03\\x04``.
3. ``bad_zip`` – not a readable zip; ``too_many_parts`` – over ``MAX_MEMBERS`` members;
   ``unsafe_name`` – absolute, ``..``, backslash or duplicate member names; ``encrypted`` – encrypted members.
4. ``zip_bomb`` – declared uncompressed total over ``MAX_UNCOMPRESSED_BYTES`` or a member whose
   compression ratio exceeds ``MAX_RATIO`` (zipfile never inflates past the declared size, so the
   declared sizes bound the work).
5. ``xml_entities`` – any XML part (by name, or any member whose bytes start like XML) with a DTD or
   entity declaration (XXE, billion laughs) or not in UTF-8;
   ``[Content_Types].xml`` is parsed with defusedxml (``bad_content_types`` if missing or invalid).
6. ``macro`` – macro-enabled main type (docm/xlsm/pptm) or a VBA project part; ``wrong_kind`` – the
   main part is not the expected kind (e.g. a spreadsheet uploaded for a document task).

The file name is used only for the message (a ``.wps`` name gets the WPS advice); the type is
decided by content. Messages are lazy gettext strings (translated when rendered).
"""
from __future__ import annotations

import io
import posixpath
import zipfile

from defusedxml import ElementTree as SafeET
from defusedxml.common import DefusedXmlException
from flask import current_app, has_app_context
from flask_babel import lazy_gettext as _l

DEFAULT_MAX_UPLOAD_BYTES = 10 * 1024 * 1024
MAX_UNCOMPRESSED_BYTES = 100 * 1024 * 1024   # all members together, as declared in the zip directory
MAX_RATIO = 200                               # uncompressed ÷ compressed, per member over 1 MiB
MAX_MEMBERS = 2000

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGIC = b"PK\x03\x04"

MAIN_TYPES = {
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml",
}
MACRO_TYPES = {
    "application/vnd.ms-word.document.macroenabled.main+xml",
    "application/vnd.ms-word.template.macroenabledtemplate.main+xml",
    "application/vnd.ms-excel.sheet.macroenabled.main+xml",
    "application/vnd.ms-excel.template.macroenabled.main+xml",
    "application/vnd.ms-excel.addin.macroenabled.main+xml",
    "application/vnd.ms-excel.sheet.binary.macroenabled.main",
    "application/vnd.ms-powerpoint.presentation.macroenabled.main+xml",
    "application/vnd.ms-powerpoint.slideshow.macroenabled.main+xml",
    "application/vnd.ms-powerpoint.template.macroenabled.main+xml",
    "application/vnd.ms-office.vbaproject",
    "application/vnd.ms-office.vbaprojectsignature",
    "application/vnd.ms-excel.macrosheet+xml",
    "application/vnd.ms-excel.intlmacrosheet+xml",
}
OTHER_KIND = {t: k for k, t in MAIN_TYPES.items()}

LABELS = {"docx": ".docx", "xlsx": ".xlsx", "pptx": ".pptx"}


class UploadRefused(Exception):
    """An upload was refused. ``code`` is a stable machine word (see the module docstring);
    ``message`` a lazy gettext string for the candidate (``str(message)`` translates it)."""

    def __init__(self, code: str, message):
        self.code, self.message = code, message
        super().__init__(code)


def max_upload_bytes() -> int:
    """``PRACTICAL_MAX_UPLOAD_BYTES`` from the app config, else 10 MiB (outside an app context)."""
    if has_app_context():
        return int(current_app.config.get("PRACTICAL_MAX_UPLOAD_BYTES", DEFAULT_MAX_UPLOAD_BYTES))
    return DEFAULT_MAX_UPLOAD_BYTES


def _save_as_message(expected_kind: str):
    if expected_kind == "xlsx":
        return _l("This is an older or WPS-only spreadsheet format (.et or .xls). In WPS choose "
                  "File > Save As (文件 > 另存为), pick “Microsoft Excel 文件 (*.xlsx)” and upload that file.")
    if expected_kind == "pptx":
        return _l("This is an older or WPS-only presentation format (.dps or .ppt). In WPS choose "
                  "File > Save As (文件 > 另存为), pick “Microsoft PowerPoint 文件 (*.pptx)” and upload that file.")
    return _l("This is an older or WPS-only document format (.wps or .doc). In WPS choose "
              "File > Save As (文件 > 另存为), pick “Microsoft Word 文件 (*.docx)” and upload that file.")


def _safe_name(name: str) -> bool:
    if not name or "\\" in name or "\x00" in name or name.startswith("/") or ":" in name.split("/")[0]:
        return False
    parts = name.split("/")
    return ".." not in parts and posixpath.normpath(name) == name.rstrip("/")


def _looks_like_xml(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> bool:
    """True for a member that starts like XML text whatever its name (a part may be named .bin and
    still be declared XML in the content types), so it is scanned too."""
    if info.is_dir() or info.file_size == 0:
        return False
    with zf.open(info) as fh:
        head = fh.read(64)
    head = head.removeprefix(b"\xef\xbb\xbf").lstrip()
    return head.startswith((b"<", b"\xff\xfe", b"\xfe\xff", b"\x00<", b"<\x00"))


def _scan_xml(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> None:
    """Refuse a part with a DTD/entity declaration or a non-UTF-8 encoding; reads in chunks."""
    tail = b""
    first = True
    with zf.open(info) as fh:
        while True:
            chunk = fh.read(256 * 1024)
            if not chunk:
                return
            if first:
                first = False
                head = chunk[:4]
                if head.startswith((b"\xff\xfe", b"\xfe\xff", b"\x00<", b"<\x00", b"\x00\x00")):
                    raise UploadRefused("xml_entities", _l("The file contains an XML part in an unsupported "
                                                           "encoding and was not accepted."))
            block = tail + chunk
            if b"<!DOCTYPE" in block or b"<!ENTITY" in block or b"<!doctype" in block:
                raise UploadRefused("xml_entities", _l("The file contains XML declarations (DTD or entities) "
                                                       "that Office never writes; it was not accepted."))
            tail = block[-16:]


def inspect_upload(data: bytes, filename: str, expected_kind: str) -> None:
    """Check an uploaded practical-task file by its content; return None if it is acceptable.

    ``data`` the uploaded bytes, ``filename`` the name the browser sent (for messages only),
    ``expected_kind`` "docx" | "xlsx" | "pptx". Raises ``UploadRefused(code, message)``; see the
    module docstring for the codes, in the order they are checked. Never runs macros, never
    resolves entities, never inflates more than the declared (limited) sizes.
    """
    if expected_kind not in MAIN_TYPES:
        raise ValueError(f"unknown kind {expected_kind!r}")
    limit = max_upload_bytes()
    if len(data) > limit:
        raise UploadRefused("too_large", _l("The file is larger than %(mb)s MB. Remove large pictures or "
                                            "save it again, then upload it.", mb=limit // (1024 * 1024)))
    if not data:
        raise UploadRefused("empty", _l("The file is empty."))
    if data[:8] == OLE_MAGIC:
        raise UploadRefused("legacy_format", _save_as_message(expected_kind))
    if data[:4] != ZIP_MAGIC:
        raise UploadRefused("not_office_file", _l("This is not a %(label)s file. Save your work as %(label)s "
                                                  "and upload that file.", label=LABELS[expected_kind]))
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        infos = zf.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError, NotImplementedError):
        raise UploadRefused("bad_zip", _l("The file is damaged and cannot be opened. Save it again and upload "
                                          "the new copy.")) from None
    if len(infos) > MAX_MEMBERS:
        raise UploadRefused("too_many_parts", _l("The file has too many internal parts to be checked."))
    names = set()
    total = 0
    for info in infos:
        if not _safe_name(info.filename) or info.filename.lower() in names:
            raise UploadRefused("unsafe_name", _l("The file contains an invalid internal part name and was not "
                                                  "accepted."))
        names.add(info.filename.lower())
        if info.flag_bits & 0x1:
            raise UploadRefused("encrypted", _l("The file is password-protected. Remove the password and upload "
                                                "it again."))
        total += info.file_size
        if info.file_size > 1024 * 1024 and info.file_size > MAX_RATIO * max(info.compress_size, 1):
            raise UploadRefused("zip_bomb", _l("The file expands to an unreasonable size and was not accepted."))
    if total > MAX_UNCOMPRESSED_BYTES:
        raise UploadRefused("zip_bomb", _l("The file expands to an unreasonable size and was not accepted."))
    if any(n.endswith("vbaproject.bin") or n.endswith("vbadata.xml") for n in names):
        raise UploadRefused("macro", _macro_message(expected_kind))
    if "[content_types].xml" not in names:
        raise UploadRefused("bad_content_types", _l("This is not a %(label)s file. Save your work as %(label)s "
                                                    "and upload that file.", label=LABELS[expected_kind]))
    try:
        for info in infos:
            if info.filename.lower().endswith((".xml", ".rels", ".vml")) or _looks_like_xml(zf, info):
                _scan_xml(zf, info)
        ct_name = next(i.filename for i in infos if i.filename.lower() == "[content_types].xml")
        root = SafeET.fromstring(zf.read(ct_name), forbid_dtd=True)
    except UploadRefused:
        raise
    except DefusedXmlException:
        raise UploadRefused("xml_entities", _l("The file contains XML declarations (DTD or entities) that "
                                               "Office never writes; it was not accepted.")) from None
    except Exception:  # zlib errors, CRC mismatch, XML syntax errors
        raise UploadRefused("bad_zip", _l("The file is damaged and cannot be opened. Save it again and upload "
                                          "the new copy.")) from None
    types = {(el.get("ContentType") or "").strip().lower() for el in root}
    if types & MACRO_TYPES:
        raise UploadRefused("macro", _macro_message(expected_kind))
    if MAIN_TYPES[expected_kind] not in types:
        other = next((OTHER_KIND[t] for t in types if t in OTHER_KIND), None)
        if other:
            raise UploadRefused("wrong_kind", _l("This is a %(found)s file, but this task needs a %(label)s "
                                                 "file.", found=LABELS[other], label=LABELS[expected_kind]))
        raise UploadRefused("wrong_kind", _l("This is not a %(label)s file. Save your work as %(label)s and "
                                             "upload that file.", label=LABELS[expected_kind]))


def _macro_message(expected_kind: str):
    return _l("The file contains macros (.docm/.xlsm/.pptm or a VBA project), which are not accepted. Save it "
              "as %(label)s without macros and upload that file.", label=LABELS[expected_kind])

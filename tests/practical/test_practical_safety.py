"""Hostile and wrong uploads are refused by ``inspect_upload`` (and so by ``check_file``) with a
stable code, before any Office library parses them."""
from __future__ import annotations

import io
import struct
import zipfile
import zlib
from pathlib import Path

import pytest

from app.practical.checking import FILE_RULE_ID, check_file
from app.practical.safety import MAX_MEMBERS, UploadRefused, inspect_upload
from app.practical.tasks import load_task

TASKS = Path(__file__).resolve().parents[2] / "question_bank" / "tasks"
DOCX = (TASKS / "doc-table" / "reference.docx").read_bytes()
XLSX = (TASKS / "xls-chart" / "reference.xlsx").read_bytes()


def members(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return {i.filename: z.read(i) for i in z.infolist()}


def rezip(parts: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, body in parts.items():
            z.writestr(name, body)
    return buf.getvalue()


def raw_zip(entries: list[tuple[str, bytes, int, int]]) -> bytes:
    """A zip written by hand: (name, raw deflate data, declared uncompressed size, crc) per member.
    Lets a test declare sizes that zipfile would never write."""
    out, central = io.BytesIO(), io.BytesIO()
    for name, data, size, crc in entries:
        offset = out.tell()
        n = name.encode()
        out.write(struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0, crc, len(data), size, len(n), 0) + n + data)
        central.write(struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 8, 0, 0, crc, len(data), size,
                                  len(n), 0, 0, 0, 0, 0, offset) + n)
    cd = central.getvalue()
    start = out.tell()
    out.write(cd)
    out.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(entries), len(entries), len(cd), start, 0))
    return out.getvalue()


def deflate(data: bytes) -> bytes:
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    return c.compress(data) + c.flush()


def refused(data: bytes, kind: str = "docx", name: str = "answer.docx") -> str:
    with pytest.raises(UploadRefused) as exc:
        inspect_upload(data, name, kind)
    assert str(exc.value.message)  # a message the candidate can read
    return exc.value.code


def test_a_genuine_file_is_accepted():
    assert inspect_upload(DOCX, "answer.docx", "docx") is None
    assert inspect_upload(XLSX, "answer.xlsx", "xlsx") is None


def test_fifty_megabytes_refused_on_size():
    assert refused(b"PK\x03\x04" + bytes(50 * 1024 * 1024)) == "too_large"


def test_setting_lowers_the_size_limit(app):
    with app.app_context():
        app.config["PRACTICAL_MAX_UPLOAD_BYTES"] = 1000
        try:
            assert refused(DOCX) == "too_large"
        finally:
            app.config.pop("PRACTICAL_MAX_UPLOAD_BYTES")


def test_empty_and_wrong_magic_bytes():
    assert refused(b"") == "empty"
    png = b"\x89PNG\r\n\x1a\n" + bytes(200)
    assert refused(png, name="photo.docx") == "not_office_file"
    assert refused(b"PK\x03\x04 this is not really a zip") == "bad_zip"


@pytest.mark.parametrize("kind,name", [("docx", "报告.wps"), ("xlsx", "台账.et"), ("pptx", "汇报.dps"), ("docx", "old.doc")])
def test_wps_and_legacy_ole_files_get_save_as_advice(kind, name):
    ole = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(4096)
    with pytest.raises(UploadRefused) as exc:
        inspect_upload(ole, name, kind)
    assert exc.value.code == "legacy_format"
    assert "Save As" in str(exc.value.message) and f"*.{kind}" in str(exc.value.message)


def test_zip_bomb_expanding_to_gigabytes_is_refused():
    # 1 MiB of zeros deflated with a full flush is an identical block each time: 3,072 copies
    # declare 3 GiB in a file of about 3 MB.
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = c.compress(bytes(1 << 20)) + c.flush(zlib.Z_FULL_FLUSH)
    data = block * 3072 + deflate(b"")[-2:]
    parts = members(DOCX)
    entries = [(n, deflate(b), len(b), zlib.crc32(b)) for n, b in parts.items()]
    entries.append(("word/media/image1.bin", data, 3 << 30, 0))
    bomb = raw_zip(entries)
    assert len(bomb) < 5 * 1024 * 1024
    assert refused(bomb) == "zip_bomb"


def test_one_highly_compressed_member_is_refused():
    parts = members(DOCX)
    parts["word/media/zeros.bin"] = bytes(4 * 1024 * 1024)   # ratio about 1000:1
    assert refused(rezip(parts)) == "zip_bomb"


def _liar(crc_of_declared_part: bool) -> bytes:
    parts = members(DOCX)
    entries = [(n, deflate(b), len(b), zlib.crc32(b)) for n, b in parts.items() if n != "word/document.xml"]
    real = parts["word/document.xml"] + b"<!--" + b"x" * 10_000_000 + b"-->"
    crc = zlib.crc32(real[:100]) if crc_of_declared_part else zlib.crc32(real)
    entries.append(("word/document.xml", deflate(real), 100, crc))
    return raw_zip(entries)


def test_member_that_lies_about_its_size_never_inflates_past_the_declared_size():
    # the CRC does not match the 100 declared bytes: refused as damaged
    assert refused(_liar(False)) == "bad_zip"
    # a CRC forged for the declared 100 bytes: only those are ever read, so the document is
    # cut short and cannot be opened; the 10 MB behind it are never inflated
    task = load_task(TASKS / "doc-table")
    result = check_file(task, _liar(True))
    assert result.refused_code in ("unreadable", "bad_zip") and result.fraction == 0


XXE = b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
LAUGHS = b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>'


def test_xxe_in_content_types_is_refused():
    parts = members(DOCX)
    ct = parts["[Content_Types].xml"]
    parts["[Content_Types].xml"] = XXE + ct[ct.index(b"<Types"):]
    assert refused(rezip(parts)) == "xml_entities"


@pytest.mark.parametrize("prolog", [XXE, LAUGHS])
def test_entities_in_document_xml_are_refused(prolog):
    parts = members(DOCX)
    doc = parts["word/document.xml"]
    parts["word/document.xml"] = prolog + doc[doc.index(b"<w:document"):]
    assert refused(rezip(parts)) == "xml_entities"


def test_utf16_part_is_refused():
    parts = members(DOCX)
    parts["word/document.xml"] = parts["word/document.xml"].decode("utf-8").replace(
        'encoding="UTF-8"', 'encoding="UTF-16"').encode("utf-16")
    assert refused(rezip(parts)) == "xml_entities"


def test_macro_document_renamed_docx_is_refused():
    parts = members(DOCX)
    parts["[Content_Types].xml"] = parts["[Content_Types].xml"].replace(
        b"application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml",
        b"application/vnd.ms-word.document.macroEnabled.main+xml")
    assert refused(rezip(parts), name="report.docx") == "macro"


def test_vba_project_part_is_refused():
    parts = members(DOCX)
    parts["word/vbaProject.bin"] = b"\xd0\xcf\x11\xe0" + bytes(100)
    assert refused(rezip(parts)) == "macro"
    parts = members(XLSX)
    parts["xl/vbaProject.bin"] = b"\xd0\xcf\x11\xe0" + bytes(100)
    assert refused(rezip(parts), "xlsx", "book.xlsx") == "macro"


@pytest.mark.parametrize("bad", ["../evil.xml", "/etc/evil.xml", "word\\..\\evil.xml", "word/../../evil.xml", "C:/evil.xml"])
def test_path_traversal_member_names_are_refused(bad):
    parts = members(DOCX)
    parts[bad] = b"<x/>"
    assert refused(rezip(parts)) == "unsafe_name"


def test_duplicate_member_names_are_refused():
    parts = members(DOCX)
    entries = [(n, deflate(b), len(b), zlib.crc32(b)) for n, b in parts.items()]
    entries.append(("Word/Document.xml", deflate(b"<x/>"), 4, zlib.crc32(b"<x/>")))
    assert refused(raw_zip(entries)) == "unsafe_name"


def test_too_many_members_are_refused():
    parts = members(DOCX)
    for i in range(MAX_MEMBERS + 1):
        parts[f"customXml/item{i}.txt"] = b""
    assert refused(rezip(parts)) == "too_many_parts"


def test_encrypted_member_is_refused():
    data = bytearray(DOCX)
    # set the "encrypted" flag (bit 0) of the first local and central headers
    local = data.index(b"PK\x03\x04")
    data[local + 6] |= 1
    central = data.index(b"PK\x01\x02")
    data[central + 8] |= 1
    assert refused(bytes(data)) == "encrypted"


def test_wrong_kind_and_missing_content_types():
    assert refused(XLSX, "docx", "answer.docx") == "wrong_kind"
    assert refused(DOCX, "xlsx", "answer.xlsx") == "wrong_kind"
    parts = members(DOCX)
    del parts["[Content_Types].xml"]
    assert refused(rezip(parts)) == "bad_content_types"


def test_check_file_turns_a_refusal_into_a_zero_result_with_a_reason():
    task = load_task(TASKS / "doc-table")
    ole = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(1024)
    result = check_file(task, ole, "计划.wps")
    assert result.refused_code == "legacy_format"
    assert result.fraction == 0 and result.points_awarded == 0 and result.points_possible == task.points
    assert [r.rule_id for r in result.rules] == [FILE_RULE_ID]
    assert "Save As" in result.rules[0].detail_en


def test_refusal_detail_is_translated_with_an_app_context(app):
    task = load_task(TASKS / "xls-chart")
    with app.app_context():
        result = check_file(task, b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(100), "台账.et")
    assert "另存为" in result.rules[0].detail_zh and "*.xlsx" in result.rules[0].detail_zh
    assert "文件类型" in result.rules[0].detail_zh and "Save As" in result.rules[0].detail_en


def test_a_zip_that_is_no_document_is_unreadable_not_an_error():
    parts = members(DOCX)
    del parts["word/document.xml"]
    task = load_task(TASKS / "doc-table")
    result = check_file(task, rezip(parts))
    assert result.refused_code == "unreadable" and result.fraction == 0


def test_xml_hidden_under_another_extension_is_scanned_too():
    parts = members(DOCX)
    doc = parts["word/document.xml"]
    parts["word/document.bin"] = XXE + doc[doc.index(b"<w:document"):]
    assert refused(rezip(parts)) == "xml_entities"

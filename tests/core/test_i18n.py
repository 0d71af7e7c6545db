"""Every user-facing string is extracted and translated into Simplified Chinese."""
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from tests.conftest import ROOT

METHOD_MAP = [("app/**.py", "python"), ("app/templates/**.html", "jinja2"), ("app/templates/**.txt", "jinja2")]
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "_l": None, "lazy_gettext": None}


def _source_messages() -> set[str]:
    found = set()
    for _filename, _lineno, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map=METHOD_MAP, keywords=KEYWORDS,
        options_map={"app/templates/**.html": {"extensions": "jinja2.ext.do"}},
    ):
        found.add(message if isinstance(message, str) else message[0])
    return found


def test_zh_cn_catalog_translates_every_message_in_the_source():
    with open(ROOT / "app/translations/zh_Hans_CN/LC_MESSAGES/messages.po", "rb") as handle:
        catalog = read_po(handle)
    translated = {m.id: m for m in catalog if m.id}
    missing = sorted(_source_messages() - set(translated))
    assert not missing, f"not in the zh_CN catalog (run pybabel extract/update): {missing[:10]}"
    untranslated = sorted(m.id for m in translated.values() if not m.string or m.fuzzy)
    assert not untranslated, f"untranslated or fuzzy zh_CN messages: {untranslated[:10]}"


def test_placeholders_survive_translation():
    import re

    with open(ROOT / "app/translations/zh_Hans_CN/LC_MESSAGES/messages.po", "rb") as handle:
        catalog = read_po(handle)
    for message in catalog:
        if message.id and message.string:
            assert sorted(re.findall(r"%\(\w+\)s", message.id)) == sorted(re.findall(r"%\(\w+\)s", message.string)), message.id

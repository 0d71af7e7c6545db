"""Question bank in the browser: services without HTTP, then the pages (filters, edit, retire, import, export)."""
import io
import json

import pytest
from sqlalchemy import event, func, select

from app.core.time import utcnow
from app.exams.services import draw_form, load_pool
from app.extensions import db as _db
from app.questions import bank
from app.questions.models import Question, QuestionVersion
from app.questions.services import iter_export
from tests.factories import csrf_token, make_department, make_exam_world, make_user

NEW_GIFT = """// [id:X1-101] [tag:item:X1] [tag:difficulty:medium] [tag:phishing]
::X1-101::锁屏快捷键是 Win+L。{T####对。}

// [id:X1-102] [tag:item:X1] [tag:difficulty:hard]
::X1-102::离开座位时应当怎么做？{=锁屏 ~不管 ~关显示器}
"""


@pytest.fixture()
def world(db):
    course, exam = make_exam_world()
    dept = make_department("市财政局")
    examiner = make_user(dept, is_examiner=True)
    learner = make_user(dept)
    db.session.commit()
    return exam, examiner, learner


def _q(key):
    _db.session.expire_all()
    return _db.session.execute(select(Question).where(Question.key == key)).scalar_one()


# ----------------------------------------------------------------------------- services


def test_filters_each_narrow_the_list(world):
    assert bank.list_questions(bank.BankFilter()).total == 3
    assert bank.list_questions(bank.BankFilter(qtype="true_false")).total == 1
    assert bank.list_questions(bank.BankFilter(qtype="multiple_choice")).rows[0].key == "X1-003"
    assert bank.list_questions(bank.BankFilter(item="X1")).total == 3
    assert bank.list_questions(bank.BankFilter(item="NOPE")).total == 0
    assert bank.list_questions(bank.BankFilter(area="X")).total == 3
    assert bank.list_questions(bank.BankFilter(area="Y")).total == 0
    assert bank.list_questions(bank.BankFilter(difficulty="hard")).total == 0
    assert [r.key for r in bank.list_questions(bank.BankFilter(text="锁定 Windows")).rows] == ["X1-001"]
    assert bank.list_questions(bank.BankFilter(text="100%")).total == 0  # LIKE characters are literal


def test_tag_filter_matches_whole_tags_including_chinese(world):
    q = _q("X1-002")
    q.tags = ["钓鱼", "phishing"]
    _db.session.commit()
    assert [r.key for r in bank.list_questions(bank.BankFilter(tag="钓鱼")).rows] == ["X1-002"]
    assert [r.key for r in bank.list_questions(bank.BankFilter(tag="phishing")).rows] == ["X1-002"]
    assert bank.list_questions(bank.BankFilter(tag="phish")).total == 0


def test_paging_counts_and_two_queries_per_page(world, app):
    statements = []
    engine = _db.engine
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        page = bank.list_questions(bank.BankFilter(), page=2, per_page=2)
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    assert (page.total, page.page, page.pages, len(page.rows)) == (3, 2, 2, 1)
    assert len(statements) == 2


def test_edit_makes_a_new_version_and_keeps_the_old(world):
    exam, examiner, _ = world
    q = _q("X1-001")
    data = bank.edit_data(q)
    data.stem = "按哪个组合键可以立即锁定 Windows 屏幕？"
    assert bank.edit_question(q, data, examiner.id) is True
    _db.session.commit()
    q = _q("X1-001")
    assert q.current_version.version == 2 and q.current_version.stem.startswith("按哪个组合键可以立即")
    assert [v.version for v in q.versions] == [1, 2]
    assert q.source == "tests/small.gift"
    # metadata only: no new version
    data = bank.edit_data(q)
    data.difficulty = "hard"
    assert bank.edit_question(q, data, examiner.id) is False
    _db.session.commit()
    assert _q("X1-001").difficulty == "hard" and _q("X1-001").current_version.version == 2


def test_edit_refuses_bad_fields_and_changes_nothing(world):
    q = _q("X1-001")
    data = bank.edit_data(q)
    data.spec = json.dumps({"options": [{"id": "a", "text": "x", "fraction": 0.5}, {"id": "b", "text": "y"}]})
    data.item = "ZZ9"
    data.difficulty = "extreme"
    data.stem = "  "
    with pytest.raises(bank.EditError) as refused:
        bank.edit_question(q, data, None)
    assert set(refused.value.errors) == {"spec", "item", "difficulty", "stem"}
    data = bank.edit_data(q)
    data.spec = "{not json"
    with pytest.raises(bank.EditError) as refused:
        bank.edit_question(q, data, None)
    assert set(refused.value.errors) == {"spec"}
    assert _db.session.execute(select(func.count(QuestionVersion.id))).scalar_one() == 3


def test_editing_a_retired_question_keeps_it_retired(world):
    q = _q("X1-002")
    assert bank.set_active(q.id, False, None) is True
    data = bank.edit_data(q)
    data.general_feedback = "新的解释。"
    bank.edit_question(q, data, None)
    _db.session.commit()
    assert _q("X1-002").active is False and _q("X1-002").current_version.version == 2


def test_retired_questions_are_not_drawn(world):
    exam, _, _ = world
    retired = _q("X1-001")
    assert retired.current_version_id in {d.version_id for d in draw_form(exam, 1, load_pool(exam))}
    assert bank.set_active(retired.id, False, None) is True
    assert bank.set_active(retired.id, False, None) is False  # already retired: no change
    _db.session.commit()
    assert retired.id not in {p.question_id for p in load_pool(exam)}
    assert bank.set_active(retired.id, True, None) is True
    assert retired.id in {p.question_id for p in load_pool(exam)}


def test_upload_dry_run_changes_nothing_and_commit_imports(world):
    before = _db.session.execute(select(func.count(Question.id))).scalar_one()
    outcome = bank.upload("gift", NEW_GIFT.encode(), "new.gift", dry_run=True, user_id=None)
    assert outcome.errors == [] and sorted(outcome.created) == ["X1-101", "X1-102"]
    assert _db.session.execute(select(func.count(Question.id))).scalar_one() == before
    outcome = bank.upload("gift", NEW_GIFT.encode(), "new.gift", dry_run=False, user_id=None)
    _db.session.commit()
    assert _db.session.execute(select(func.count(Question.id))).scalar_one() == before + 2
    assert _q("X1-101").tags == ["phishing"]


def test_upload_with_an_error_imports_nothing(world):
    text = NEW_GIFT + "\n// [id:X1-103] [tag:item:NOPE]\n::X1-103::坏题 {T}\n"
    outcome = bank.upload("gift", text.encode(), "bad.gift", dry_run=False, user_id=None)
    assert len(outcome.errors) == 1 and "bad.gift:" in outcome.errors[0] and "NOPE" in outcome.errors[0]
    assert _db.session.execute(select(func.count(Question.id))).scalar_one() == 3


@pytest.mark.parametrize("fmt", ["gift", "xml"])
def test_export_of_a_selection_round_trips(world, fmt):
    text, written, problems = bank.export_selection(bank.BankFilter(qtype="true_false"), fmt)
    assert (written, problems) == (1, [])
    assert "X1-002" in text and "X1-001" not in text
    # importing the export again changes nothing
    outcome = bank.upload(fmt, text.encode(), "tests/small.gift", dry_run=True, user_id=None)
    assert outcome.errors == [] and outcome.created == [] and outcome.updated == [] and outcome.unchanged == 1


def test_export_includes_retired_questions_only_when_asked(world):
    bank.set_active(_q("X1-003").id, False, None)
    assert {q.idnumber for q in iter_export()} == {"X1-001", "X1-002"}
    _, written, _ = bank.export_selection(bank.BankFilter(status="retired"), "gift")
    assert written == 1


# ----------------------------------------------------------------------------- HTTP


@pytest.fixture()
def examiner_client(app, world, client, login_as):
    assert login_as(world[1]).status_code == 302
    return client


def test_list_page_filters(examiner_client):
    page = examiner_client.get("/bank/?qtype=true_false").get_data(as_text=True)
    assert "X1-002" in page and "X1-001" not in page
    assert examiner_client.get("/bank/?qtype=nonsense").status_code == 400
    assert examiner_client.get("/bank/?status=gone").status_code == 400


def test_learner_is_refused(app, world, client, login_as):
    login_as(world[2])
    assert client.get("/bank/").status_code == 403


def test_question_page_preview_never_shows_the_key(examiner_client):
    q = _q("X1-001")
    page = examiner_client.get(f"/bank/questions/{q.id}").get_data(as_text=True)
    candidate = page.split('id="candidate-preview"')[1].split('id="examiner-view"')[0]
    assert "Win+L" in candidate and "Ctrl+S" in candidate
    assert "对。" not in candidate and "立即锁屏" not in candidate and "100" not in candidate
    examiner = page.split('id="examiner-view"')[1]
    assert "Win+L 立即锁屏" in examiner and "这是保存" in examiner


def test_edit_over_http_creates_a_version_and_shows_field_errors(examiner_client):
    q = _q("X1-002")
    url = f"/bank/questions/{q.id}/edit"
    token = csrf_token(examiner_client, url)
    data = vars(bank.edit_data(q)) | {"csrf_token": token, "stem": "离开座位前必须锁屏。"}
    response = examiner_client.post(url, data=data)
    assert response.status_code == 302
    assert _q("X1-002").current_version.version == 2
    bad = dict(data, spec='{"answer": "maybe"}', item="ZZ9")
    page = examiner_client.post(url + "?lang=zh_CN", data=bad).get_data(as_text=True)
    assert "未知的标准条目" in page and "答案设置无效" in page
    page = examiner_client.post(url + "?lang=en", data=bad).get_data(as_text=True)
    assert "Unknown standard item" in page and "The answers are not valid" in page
    assert _q("X1-002").current_version.version == 2


def test_every_form_needs_csrf(examiner_client):
    q = _q("X1-002")
    assert examiner_client.post(f"/bank/questions/{q.id}/edit", data=vars(bank.edit_data(q))).status_code == 400
    assert examiner_client.post(f"/bank/questions/{q.id}/retire").status_code == 400
    assert examiner_client.post(f"/bank/questions/{q.id}/reactivate").status_code == 400
    assert examiner_client.post("/bank/import", data={"fmt": "gift", "file": (io.BytesIO(NEW_GIFT.encode()), "a.gift")},
                                content_type="multipart/form-data").status_code in (200, 400)
    assert examiner_client.post("/bank/import/confirm", data={"token": "0" * 32, "fmt": "gift"}).status_code == 400
    assert _q("X1-002").active is True
    assert _db.session.execute(select(func.count(Question.id))).scalar_one() == 3


def test_retire_over_http(examiner_client):
    q = _q("X1-002")
    token = csrf_token(examiner_client, f"/bank/questions/{q.id}")
    assert examiner_client.post(f"/bank/questions/{q.id}/retire", data={"csrf_token": token}).status_code == 302
    assert _q("X1-002").active is False
    assert "X1-002" not in examiner_client.get("/bank/").get_data(as_text=True)
    assert "X1-002" in examiner_client.get("/bank/?status=retired").get_data(as_text=True)


def test_upload_dry_run_then_confirm(examiner_client):
    token = csrf_token(examiner_client, "/bank/import")
    page = examiner_client.post("/bank/import", data={"csrf_token": token, "fmt": "gift",
                                                      "file": (io.BytesIO(NEW_GIFT.encode()), "new.gift")},
                                content_type="multipart/form-data").get_data(as_text=True)
    assert "X1-101" in page and 'id="dry-run"' in page
    assert _db.session.execute(select(func.count(Question.id))).scalar_one() == 3
    import re
    upload_token = re.search(r'name="token" type="hidden" value="([0-9a-f]{32})"', page).group(1)
    response = examiner_client.post("/bank/import/confirm", data={"csrf_token": token, "token": upload_token,
                                                                  "fmt": "gift", "filename": "new.gift"})
    assert response.status_code == 302
    assert _db.session.execute(select(func.count(Question.id))).scalar_one() == 5
    # the stored upload is used once
    response = examiner_client.post("/bank/import/confirm", data={"csrf_token": token, "token": upload_token,
                                                                  "fmt": "gift", "filename": "new.gift"})
    assert response.status_code == 302 and "/bank/import" in response.headers["Location"]


def test_upload_with_errors_shows_lines_and_offers_no_confirm(examiner_client):
    token = csrf_token(examiner_client, "/bank/import")
    bad = NEW_GIFT + "\n// [id:X1-103] [tag:item:NOPE]\n::X1-103::坏题 {T}\n"
    page = examiner_client.post("/bank/import", data={"csrf_token": token, "fmt": "gift",
                                                      "file": (io.BytesIO(bad.encode()), "bad.gift")},
                                content_type="multipart/form-data").get_data(as_text=True)
    assert "bad.gift:" in page and "NOPE" in page and 'name="token"' not in page


def test_upload_size_limit(examiner_client, app):
    app.config["QUESTION_BANK_UPLOAD_MAX_BYTES"] = 100
    try:
        token = csrf_token(examiner_client, "/bank/import")
        page = examiner_client.post("/bank/import", data={"csrf_token": token, "fmt": "gift",
                                                          "file": (io.BytesIO(NEW_GIFT.encode()), "new.gift")},
                                    content_type="multipart/form-data").get_data(as_text=True)
    finally:
        del app.config["QUESTION_BANK_UPLOAD_MAX_BYTES"]
    assert 'class="error"' in page and 'name="token"' not in page


def test_export_download(examiner_client):
    response = examiner_client.get("/bank/export?qtype=true_false&fmt=gift")
    assert response.status_code == 200
    assert "attachment" in response.headers["Content-Disposition"]
    text = response.get_data(as_text=True)
    assert "X1-002" in text and "X1-001" not in text
    assert examiner_client.get("/bank/export?fmt=docx").status_code == 400


OTHER_TYPES = """::M1::把快捷键和作用配对。{=Win+L -> 锁屏 =Win+D -> 显示桌面 =Win+E -> 资源管理器}

::N1::一个 U 盘容量 64 GB，等于多少 MB（按 1024 换算）？{#65536:0}

::S1::Windows 锁屏的快捷键是？{=Win+L =WinL}

::E1::请说明离开座位时应当做什么。{}
"""


def test_preview_of_every_type_never_shows_the_key(examiner_client):
    assert bank.upload("gift", OTHER_TYPES.encode(), "types.gift", dry_run=False, user_id=None).errors == []
    _db.session.commit()
    secrets = {"M1": ["-&gt;"], "N1": ["65536"], "S1": ["Win+L", "WinL"], "E1": []}
    for name, hidden in secrets.items():
        q = _db.session.execute(select(Question).where(Question.name == name)).scalar_one()
        page = examiner_client.get(f"/bank/questions/{q.id}").get_data(as_text=True)
        candidate = page.split('id="candidate-preview"')[1].split('id="examiner-view"')[0]
        assert q.current_version.stem.split("（")[0][:6] in candidate, name
        for secret in hidden:
            assert secret not in candidate, (name, secret)
    matching = _db.session.execute(select(Question).where(Question.name == "M1")).scalar_one()
    page = examiner_client.get(f"/bank/questions/{matching.id}").get_data(as_text=True)
    candidate = page.split('id="candidate-preview"')[1].split('id="examiner-view"')[0]
    assert "Win+E" in candidate and "资源管理器" in candidate  # prompts and the shuffled choices, unpaired


def test_changes_are_audited(world):
    from app.audit.models import AuditEvent

    q = _q("X1-002")
    bank.set_active(q.id, False, world[1].id)
    event = _db.session.execute(select(AuditEvent).where(AuditEvent.action == "bank.retire")).scalar_one()
    assert (event.actor_id, event.target, event.detail) == (world[1].id, f"question:{q.id}", {"question_id": q.id})


def test_staged_uploads_live_in_the_database_expire_and_belong_to_their_uploader(examiner_client, app, world):
    """The dry-run file waits in the database (any web node can take the confirmation; nothing on a
    node's disk); a day-old staged file is gone; another user's token finds nothing."""
    import datetime as dt
    from pathlib import Path

    from app.questions.models import StagedUpload

    stale = StagedUpload(token="a" * 32, user_id=world[1].id, fmt="gift", filename="old.gift", data=b"x",
                         created_at=utcnow() - dt.timedelta(days=2))
    _db.session.add(stale)
    _db.session.commit()
    instance = Path(app.instance_path)
    before = sorted(instance.rglob("*")) if instance.exists() else []
    token = csrf_token(examiner_client, "/bank/import")
    examiner_client.post("/bank/import", data={"csrf_token": token, "fmt": "gift",
                                               "file": (io.BytesIO(NEW_GIFT.encode()), "new.gift")},
                         content_type="multipart/form-data")
    staged = _db.session.execute(select(StagedUpload)).scalars().all()
    assert [s.filename for s in staged] == ["new.gift"] and staged[0].data == NEW_GIFT.encode()
    assert (sorted(instance.rglob("*")) if instance.exists() else []) == before
    assert bank.take_staged_upload(world[1].id + 1000, staged[0].token) is None
    assert bank.take_staged_upload(world[1].id, staged[0].token).filename == "new.gift"
    assert bank.take_staged_upload(world[1].id, staged[0].token) is None

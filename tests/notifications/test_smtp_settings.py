"""Every e-mail setting the README documents, against real aiosmtpd servers on 127.0.0.1: STARTTLS
(MAIL_USE_TLS) with a certificate made here and verified, TLS from the first byte (MAIL_USE_SSL), sign-in
(MAIL_USERNAME / MAIL_PASSWORD) only over TLS, MAIL_FROM, MAIL_PORT, and the reminder tuning
(REMINDER_DAYS_BEFORE, REMINDER_OVERDUE_WEEKS). A failure to send is kept on the row with its reason.

The server certificate (self-signed, for IP 127.0.0.1) is made with the ``cryptography`` package if
installed, else with the ``openssl`` command; without either the TLS tests are skipped, saying why."""
from __future__ import annotations

import datetime as dt
import importlib.util
import shutil
import ssl
import subprocess

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from sqlalchemy import select

from app.notifications.models import EMAIL, Message
from app.notifications.services import MailSettingsError, check_mail_settings, queue, send_pending
from tests.notifications.conftest import Inbox, _free_port

OPENSSL = shutil.which("openssl")
HAVE_CRYPTOGRAPHY = importlib.util.find_spec("cryptography") is not None
needs_certificate = pytest.mark.skipif(
    not (HAVE_CRYPTOGRAPHY or OPENSSL),
    reason="neither the cryptography package nor the openssl command is available to make a test certificate: "
           "SMTP over TLS untested")
USER, PASSWORD = "mailer", "smtp-secret-42"


def _make_certificate(directory) -> tuple[str, str]:
    """A self-signed certificate for 127.0.0.1 (and localhost) and its key: ``(cert.pem, key.pem)`` paths."""
    cert, key = directory / "cert.pem", directory / "key.pem"
    if HAVE_CRYPTOGRAPHY:
        import ipaddress

        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID

        private = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
        now = dt.datetime.now(dt.timezone.utc)
        certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                       .public_key(private.public_key()).serial_number(x509.random_serial_number())
                       .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
                       .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                                                                   x509.DNSName("localhost")]), critical=False)
                       .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                       .sign(private, hashes.SHA256()))
        cert.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
        key.write_bytes(private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                              serialization.NoEncryption()))
    else:
        subprocess.run([OPENSSL, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                        "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=127.0.0.1",
                        "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
                        "-addext", "basicConstraints=critical,CA:TRUE"],
                       check=True, capture_output=True)
    return str(cert), str(key)


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    if not (HAVE_CRYPTOGRAPHY or OPENSSL):
        pytest.skip("no way to make a test certificate")
    return _make_certificate(tmp_path_factory.mktemp("smtp-tls"))


class TLSInbox(Inbox):
    """An Inbox that also notes, per message, whether the session was encrypted and who signed in."""

    def __init__(self):
        super().__init__()
        self.sessions = []
        self.logins = []

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            login = getattr(session.auth_data, "login", None) if session.authenticated else None
            encrypted = session.ssl is not None or server.transport.get_extra_info("ssl_object") is not None
            self.sessions.append({"tls": encrypted, "login": login})
        return await super().handle_DATA(server, session, envelope)


def _authenticator(inbox: TLSInbox):
    def check(server, session, envelope, mechanism, auth_data):
        ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
            USER.encode(), PASSWORD.encode())
        with inbox.lock:
            inbox.logins.append((mechanism, ok, session.ssl is not None))
        return AuthResult(success=ok, auth_data=auth_data)
    return check


def _server_context(certificate) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certificate)
    return context


@pytest.fixture()
def mail_config(app):
    """Restore every MAIL_* setting a test changes."""
    keys = ("MAIL_SERVER", "MAIL_PORT", "MAIL_FROM", "MAIL_USE_TLS", "MAIL_USE_SSL", "MAIL_USERNAME",
            "MAIL_PASSWORD", "MAIL_CA_FILE", "MAIL_TIMEOUT", "PUBLIC_BASE_URL")
    saved = {key: app.config.get(key) for key in keys}
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_FROM="Training Office <training@example.gov.cn>",
                      MAIL_USE_TLS=False, MAIL_USE_SSL=False, MAIL_USERNAME="", MAIL_PASSWORD="", MAIL_CA_FILE="",
                      MAIL_TIMEOUT=5, PUBLIC_BASE_URL="https://training.example.gov.cn")
    try:
        yield app.config
    finally:
        app.config.update(saved)


def _serve(inbox, **parameters) -> tuple[Controller, int]:
    port = _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port, **parameters)
    controller.start()
    return controller, port


def _starttls_server(inbox, certificate, **extra):
    return _serve(inbox, tls_context=_server_context(certificate), require_starttls=True,
                  authenticator=_authenticator(inbox), auth_require_tls=True, **extra)


def _one_mail(db):
    from tests.factories import make_user

    person = make_user(name="收件人")
    person.email, person.locale = "person@example.gov.cn", "en"
    plan = type("P", (), {"tr": lambda self, f: "Plan"})()
    queue(person, "manual", "2026-12-03", link="https://training.example.gov.cn/courses/", sender=person,
          plan=plan, courses=[])
    db.session.commit()
    return person


def _email_row(db) -> Message:
    db.session.expire_all()
    return db.session.execute(select(Message).where(Message.channel == EMAIL)).scalar_one()


@needs_certificate
def test_starttls_with_a_verified_certificate_and_a_password(app, db, mail_config, certificate):
    inbox = TLSInbox()
    controller, port = _starttls_server(inbox, certificate, auth_required=True)
    try:
        mail_config.update(MAIL_PORT=port, MAIL_USE_TLS=True, MAIL_CA_FILE=certificate[0], MAIL_USERNAME=USER,
                           MAIL_PASSWORD=PASSWORD)
        _one_mail(db)
        report = send_pending()
    finally:
        controller.stop()
    assert (report.sent, report.failed) == (1, 0), _email_row(db).error
    (mail,) = inbox.messages
    assert mail["From"] == "Training Office <training@example.gov.cn>" and mail["To"] == "person@example.gov.cn"
    assert inbox.sessions == [{"tls": True, "login": USER.encode()}]
    assert inbox.logins and all(ok and encrypted for _mechanism, ok, encrypted in inbox.logins)
    row = _email_row(db)
    assert row.sent_at is not None and row.error is None


@needs_certificate
def test_starttls_refuses_a_certificate_it_cannot_verify(app, db, mail_config, certificate):
    """Without MAIL_CA_FILE the self-signed certificate is not trusted: nothing is sent, the password
    never leaves, the row keeps the reason for a retry (smtplib's own default would have accepted it)."""
    inbox = TLSInbox()
    controller, port = _starttls_server(inbox, certificate)
    try:
        mail_config.update(MAIL_PORT=port, MAIL_USE_TLS=True, MAIL_USERNAME=USER, MAIL_PASSWORD=PASSWORD)
        _one_mail(db)
        report = send_pending()
    finally:
        controller.stop()
    assert (report.sent, report.failed) == (0, 1)
    assert inbox.messages == [] and inbox.logins == []
    row = _email_row(db)
    assert row.sent_at is None and row.claimed_at is None and row.attempts == 1
    assert "CERTIFICATE_VERIFY_FAILED" in row.error


def test_starttls_required_but_not_offered_is_a_recorded_failure(app, db, mail_config):
    inbox = Inbox()
    controller, port = _serve(inbox)  # a plain server: no STARTTLS in its EHLO answer
    try:
        mail_config.update(MAIL_PORT=port, MAIL_USE_TLS=True)
        _one_mail(db)
        report = send_pending()
    finally:
        controller.stop()
    assert (report.sent, report.failed) == (0, 1) and inbox.messages == []
    row = _email_row(db)
    assert row.sent_at is None and "SMTPNotSupportedError" in row.error and "STARTTLS" in row.error


@needs_certificate
def test_tls_from_the_first_byte(app, db, mail_config, certificate):
    inbox = TLSInbox()
    port = _free_port()
    # (aiosmtpd offers AUTH "over TLS" only after its own STARTTLS: the whole connection is TLS here)
    controller = Controller(inbox, hostname="127.0.0.1", port=port, ssl_context=_server_context(certificate),
                            authenticator=_authenticator(inbox), auth_require_tls=False)
    controller.start()
    try:
        mail_config.update(MAIL_PORT=port, MAIL_USE_SSL=True, MAIL_CA_FILE=certificate[0], MAIL_USERNAME=USER,
                           MAIL_PASSWORD=PASSWORD)
        _one_mail(db)
        report = send_pending()
    finally:
        controller.stop()
    assert (report.sent, report.failed) == (1, 0), _email_row(db).error
    assert inbox.sessions == [{"tls": True, "login": USER.encode()}]


def test_a_password_is_never_sent_without_tls_and_contradictory_settings_are_refused(app, db, mail_config):
    inbox = Inbox()
    controller, port = _serve(inbox, auth_require_tls=False,
                              authenticator=lambda *args: AuthResult(success=True))
    try:
        mail_config.update(MAIL_PORT=port, MAIL_USERNAME=USER, MAIL_PASSWORD=PASSWORD)
        _one_mail(db)
        assert send_pending().failed == 1
        assert "would be sent unencrypted" in _email_row(db).error
        mail_config.update(MAIL_USE_TLS=True, MAIL_USE_SSL=True)
        assert send_pending().failed == 1
        assert "exclude each other" in _email_row(db).error
    finally:
        controller.stop()
    assert inbox.messages == []
    with pytest.raises(MailSettingsError):
        check_mail_settings(False, False, "someone")
    check_mail_settings(True, False, "someone")
    check_mail_settings(False, True, "")
    check_mail_settings(False, False, "")


def test_reminder_days_before_and_overdue_weeks_come_from_the_settings(app, db, smtp, learners, monkeypatch):
    """REMINDER_DAYS_BEFORE moves the first reminder; REMINDER_OVERDUE_WEEKS ends the weekly overdue ones."""
    from tests.notifications.test_reminders import at_local, job, run_in_context

    monkeypatch.setitem(app.config, "REMINDER_DAYS_BEFORE", 2)
    monkeypatch.setitem(app.config, "REMINDER_OVERDUE_WEEKS", 1)
    with at_local(dt.date(2026, 12, 7)):  # three days before the due date: too early with 2
        assert run_in_context(app, job("learner-reminders")) == 0
    with at_local(dt.date(2026, 12, 8)):
        assert run_in_context(app, job("learner-reminders")) == 4
    with at_local(dt.date(2026, 12, 11)):  # overdue, week 0
        assert run_in_context(app, job("learner-reminders")) == 4
    with at_local(dt.date(2026, 12, 18)):  # week 1: past the one overdue week
        assert run_in_context(app, job("learner-reminders")) == 0
    kinds = {m.kind for m in db.session.execute(select(Message)).scalars()}
    assert kinds == {"due_soon", "overdue"}

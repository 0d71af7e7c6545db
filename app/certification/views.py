"""My certificates, certificate PDF download, the public verification page, and the administrators'
certificate pages (search, revoke and reinstate with a reason, audited)."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import or_, select

from app.audit.services import events_for
from app.auth.models import User
from app.certification.models import EXPIRED, REVOKED, Certificate
from app.certification.pdf import CertificateDocument, find_cjk_font, render_certificate_pdf
from app.certification.services import find_by_code, public_base_url, reinstate, revoke
from app.core.errors import DomainError
from app.core.permissions import admin_required, refuse_out_of_scope
from app.core.time import to_local
from app.extensions import db

bp = Blueprint("certification", __name__)


@bp.route("/certificates/")
@login_required
def mine():
    """The learner's certificates, newest first."""
    certificates = list(db.session.execute(
        select(Certificate).where(Certificate.user_id == current_user.id).order_by(Certificate.issued_at.desc())
    ).scalars())
    return render_template("certification/mine.html", certificates=certificates)


def verify_url(certificate: Certificate) -> str:
    """Absolute URL of the certificate's public verification page, from configuration only
    (:func:`app.certification.services.public_base_url`), never from the request's Host header."""
    return public_base_url(current_app.config) + url_for("certification.verify", code=certificate.verification_code)


@bp.route("/certificates/<int:certificate_id>.pdf")
@login_required
def pdf(certificate_id: int):
    """The certificate as PDF (holder only; 404 for anyone else). A revoked or expired certificate is
    not drawn (409 with a page saying why): a PDF cannot change later, so one printed now would
    look valid to whoever is shown it; the verification page states the status instead."""
    certificate = db.session.get(Certificate, certificate_id)
    if certificate is None or certificate.user_id != current_user.id:  # another person's: refused, audited
        refuse_out_of_scope(Certificate, certificate_id, "certificate")
    if certificate.status in (REVOKED, EXPIRED):
        return render_template("certification/no_pdf.html", c=certificate), 409
    user = certificate.user
    department = user.department.name if user.department else ""
    document = CertificateDocument(
        serial=certificate.serial, verification_code=certificate.verification_code, holder_name=user.name,
        department_name=department, certification_title_zh=certificate.certification.title_zh,
        certification_title_en=certificate.certification.title_en,
        issued_on=to_local(certificate.issued_at).date(),
        expires_on=to_local(certificate.expires_at).date() if certificate.expires_at else None,
        verify_url=verify_url(certificate), issuer_zh=current_app.config["CERTIFICATE_ISSUER_ZH"],
        issuer_en=current_app.config["CERTIFICATE_ISSUER_EN"],
    )
    font = find_cjk_font(current_app.config.get("CERTIFICATE_FONT_PATH") or None)
    response = make_response(render_certificate_pdf(document, font_path=font))
    response.headers["Content-Type"] = "application/pdf"
    response.headers["Content-Disposition"] = f'attachment; filename="{certificate.serial}.pdf"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.route("/verify/<code>")
def verify(code: str):
    """Public: holder's name, certification, dates and status. No other personal data."""
    certificate = find_by_code(code)
    return render_template("certification/verify.html", certificate=certificate, code=code), (200 if certificate else 404)


@bp.route("/verify", methods=["GET"])
def verify_form():
    """Public form to type a verification code."""
    code = request.args.get("code", "").strip()
    if code:
        from flask import redirect

        return redirect(url_for("certification.verify", code=code))
    return render_template("certification/verify.html", certificate=None, code=None)


# --- administrators: find a certificate, revoke or reinstate it --------------------------------

ADMIN_LIST_LIMIT = 50


@bp.route("/admin/certificates/")
@admin_required
def admin_list():
    """Find certificates by serial, verification code, staff number or name (newest first, 50 at most)."""
    text = request.args.get("q", "", type=str).replace("\x00", "").strip()[:100]
    query = select(Certificate).join(User, User.id == Certificate.user_id)
    if text:
        like = f"%{text}%"
        query = query.where(or_(Certificate.serial.ilike(like), Certificate.verification_code.ilike(like),
                                User.staff_number == text, User.name.ilike(like)))
    certificates = list(db.session.execute(
        query.order_by(Certificate.issued_at.desc(), Certificate.id.desc()).limit(ADMIN_LIST_LIMIT)).scalars())
    return render_template("certification/admin_list.html", certificates=certificates, q=text,
                           limit=ADMIN_LIST_LIMIT)


def _certificate_or_404(certificate_id: int) -> Certificate:
    return db.session.get(Certificate, certificate_id) or abort(404)


@bp.route("/admin/certificates/<int:certificate_id>")
@admin_required
def admin_detail(certificate_id: int):
    """One certificate: holder, dates, status, revocation, audit history; revoke or reinstate form."""
    certificate = _certificate_or_404(certificate_id)
    return render_template("certification/admin_detail.html", c=certificate,
                           events=events_for(f"certificate:{certificate.id}"))


def _change(certificate_id: int, action) -> object:
    certificate = _certificate_or_404(certificate_id)
    try:
        changed = action(certificate, request.form.get("reason", ""), actor=current_user,
                         ip=request.remote_addr)
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return redirect(url_for("certification.admin_detail", certificate_id=certificate_id)), certificate, None
    db.session.commit()
    return None, certificate, changed


@bp.route("/admin/certificates/<int:certificate_id>/revoke", methods=["POST"])
@admin_required
def admin_revoke(certificate_id: int):
    """Revoke with a reason (audited); the verification page shows it as revoked from now on."""
    response, certificate, changed = _change(certificate_id, revoke)
    if response is None:
        flash(_("Certificate %(serial)s is revoked.", serial=certificate.serial) if changed
              else _("This certificate was already revoked."), "info")
        response = redirect(url_for("certification.admin_detail", certificate_id=certificate_id))
    return response


@bp.route("/admin/certificates/<int:certificate_id>/reinstate", methods=["POST"])
@admin_required
def admin_reinstate(certificate_id: int):
    """Reinstate a revoked certificate with a reason (audited)."""
    response, certificate, changed = _change(certificate_id, reinstate)
    if response is None:
        flash(_("Certificate %(serial)s is reinstated.", serial=certificate.serial) if changed
              else _("This certificate is not revoked."), "info")
        response = redirect(url_for("certification.admin_detail", certificate_id=certificate_id))
    return response

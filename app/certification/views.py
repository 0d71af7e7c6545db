"""My certificates, certificate PDF download, and the public verification page."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, make_response, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from app.certification.models import Certificate
from app.certification.pdf import CertificateDocument, find_cjk_font, render_certificate_pdf
from app.certification.services import find_by_code, public_base_url
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
    """The certificate as PDF (holder only; 404 for anyone else)."""
    certificate = db.session.get(Certificate, certificate_id)
    if certificate is None or certificate.user_id != current_user.id:
        abort(404)
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

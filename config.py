"""Configuration classes. Every value comes from an environment variable with a safe default.

Select a class with ``CIVICSKILLS_ENV`` (``development`` (default), ``production``, ``testing``)
or pass one to :func:`app.create_app`.
"""
from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = BASE_DIR / "instance"


DEV_SECRET_KEY = "dev-only-insecure-key-change-me"


def _bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


class Config:
    """Defaults shared by every environment (development-safe)."""

    SECRET_KEY = os.environ.get("SECRET_KEY", DEV_SECRET_KEY)
    SQLALCHEMY_DATABASE_URI = os.environ.get(
        "DATABASE_URL", f"sqlite:///{INSTANCE_DIR / 'civicskills.db'}"
    )
    # No pre-ping: it costs a round trip (SELECT 1) at every pool checkout, i.e. on every request.
    # Pooled connections are replaced after DB_POOL_RECYCLE seconds instead (below PostgreSQL's and
    # any firewall's idle timeouts); after a database restart the first request of each worker that
    # reuses a dead connection fails once (invalidating the pool). DB_POOL_PRE_PING=1 restores the ping.
    SQLALCHEMY_ENGINE_OPTIONS: dict = {
        "pool_pre_ping": _bool("DB_POOL_PRE_PING", False),
        "pool_recycle": int(os.environ.get("DB_POOL_RECYCLE", "1800")),
    }
    TIMEZONE = os.environ.get("TIMEZONE", "Asia/Shanghai")
    DEFAULT_LOCALE = os.environ.get("DEFAULT_LOCALE", "zh_CN")
    BABEL_DEFAULT_LOCALE = DEFAULT_LOCALE
    BABEL_DEFAULT_TIMEZONE = TIMEZONE
    LANGUAGES = ["zh_CN", "en"]
    BABEL_TRANSLATION_DIRECTORIES = str(BASE_DIR / "app" / "translations")

    # Sessions and cookies. The login itself is a server-side row (auth.models.UserSession);
    # the cookie only carries its token, so logout really ends it.
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE", False)
    LOGIN_SESSION_HOURS = float(os.environ.get("LOGIN_SESSION_HOURS", "12"))
    REMEMBER_COOKIE_DURATION = 0

    # CSRF: tokens are bound to the session and do not expire on a timer, so an exam
    # longer than Flask-WTF's default 3,600 s keeps saving answers.
    WTF_CSRF_TIME_LIMIT = None
    WTF_CSRF_SSL_STRICT = _bool("WTF_CSRF_SSL_STRICT", False)
    # Autosave answered in front of Flask's request cycle when nothing is unusual (PostgreSQL only;
    # app/exams/fastlane.py). 0 sends every save through the full cycle.
    AUTOSAVE_FAST_LANE = _bool("AUTOSAVE_FAST_LANE", True)

    # argon2id parameters for new password hashes: "time cost,memory in KiB,parallelism".
    # Default: OWASP's recommended minimum (19 MiB, t=2, p=1); older hashes are upgraded at login.
    PASSWORD_HASH_PARAMS = tuple(int(part) for part in os.environ.get("PASSWORD_HASH_PARAMS", "2,19456,1").split(","))

    # Login protection: failures before a lockout, and its length in seconds.
    LOGIN_MAX_FAILURES = int(os.environ.get("LOGIN_MAX_FAILURES", "5"))
    LOGIN_LOCKOUT_SECONDS = int(os.environ.get("LOGIN_LOCKOUT_SECONDS", "900"))
    # Personal single-use sign-in codes (new staff, forgotten passwords) stay valid this many hours.
    SIGN_IN_CODE_HOURS = float(os.environ.get("SIGN_IN_CODE_HOURS", "168"))
    # Optional LDAP / Active Directory sign-in (app/auth/ldap.py): on when LDAP_URL is set.
    LDAP_URL = os.environ.get("LDAP_URL", "")
    LDAP_BASE_DN = os.environ.get("LDAP_BASE_DN", "")
    LDAP_USER_FILTER = os.environ.get("LDAP_USER_FILTER", "(uid={staff_number})")
    LDAP_BIND_DN = os.environ.get("LDAP_BIND_DN", "")
    LDAP_BIND_PASSWORD = os.environ.get("LDAP_BIND_PASSWORD", "")
    LDAP_TIMEOUT = float(os.environ.get("LDAP_TIMEOUT", "5"))
    LDAP_FALLBACK_LOCAL = _bool("LDAP_FALLBACK_LOCAL", False)
    # Rate limits must share storage across workers in production (e.g. redis://127.0.0.1:6379/0).
    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI", "memory://")
    RATELIMIT_ENABLED = _bool("RATELIMIT_ENABLED", True)
    # Per client IP. An exam room behind one NAT address logs in together, so keep this generous;
    # the per-account lockout above is what stops password guessing.
    LOGIN_RATE_LIMIT = os.environ.get("LOGIN_RATE_LIMIT", "120 per minute")

    # Reverse proxies in front of the app that set X-Forwarded-For/-Proto/-Host (werkzeug ProxyFix).
    # 0 (default): the app is reached directly and forwarded headers are ignored (a client could
    # write anything in them). Set it to the exact number of proxies, e.g. 1 for one nginx; the
    # client address (rate-limit key) and HTTPS (secure cookies, HSTS) then come from those proxies.
    TRUSTED_PROXY_COUNT = int(os.environ.get("TRUSTED_PROXY_COUNT", "0"))

    MAX_CONTENT_LENGTH = int(os.environ.get("MAX_CONTENT_LENGTH", str(5 * 1024 * 1024)))

    # Content locations.
    COURSES_DIR = os.environ.get("COURSES_DIR", str(BASE_DIR / "courses"))
    QUESTION_BANK_DIR = os.environ.get("QUESTION_BANK_DIR", str(BASE_DIR / "question_bank"))
    # Practical-task uploads (app/practical/safety.py): bytes; larger files are refused unread.
    # The upload route raises its own request limit to this plus 64 KiB of form (MAX_CONTENT_LENGTH is lower).
    PRACTICAL_MAX_UPLOAD_BYTES = int(os.environ.get("PRACTICAL_MAX_UPLOAD_BYTES", str(10 * 1024 * 1024)))
    # The checking job (app/exams/practical.py): limits per file (seconds, MiB), tries before a file is
    # given up as "failed", and the age in seconds after which a claim of a worker that died is taken again.
    PRACTICAL_CHECK_TIMEOUT_SECONDS = float(os.environ.get("PRACTICAL_CHECK_TIMEOUT_SECONDS", "20"))
    PRACTICAL_CHECK_MEMORY_MB = int(os.environ.get("PRACTICAL_CHECK_MEMORY_MB", "512"))
    PRACTICAL_CHECK_MAX_TRIES = int(os.environ.get("PRACTICAL_CHECK_MAX_TRIES", "3"))
    PRACTICAL_CHECK_STALE_SECONDS = int(os.environ.get("PRACTICAL_CHECK_STALE_SECONDS", "300"))

    # Certificates.
    CERTIFICATE_ISSUER_ZH = os.environ.get("CERTIFICATE_ISSUER_ZH", "市公务员培训中心")
    CERTIFICATE_ISSUER_EN = os.environ.get("CERTIFICATE_ISSUER_EN", "City Civil Service Training Centre")
    # A TrueType CJK font to embed in certificate PDFs (default: the first common one found, e.g.
    # WenQuanYi Micro Hei from Debian's fonts-wqy-microhei; none found: reportlab's STSong-Light, not embedded).
    CERTIFICATE_FONT_PATH = os.environ.get("CERTIFICATE_FONT_PATH", "")
    # Absolute base URL printed in certificate QR codes and links, e.g. https://training.example.gov.cn
    # (required in production; elsewhere http://SERVER_NAME or http://127.0.0.1:5000, never the Host header).
    PUBLIC_BASE_URL = os.environ.get("PUBLIC_BASE_URL", "")

    # Scheduler: only the demo's single dev server runs it in-process; production runs
    # exactly one `flask scheduler run` process.
    SCHEDULER_IN_PROCESS = _bool("SCHEDULER_IN_PROCESS", False)

    # Rollout status: percentage points below target that still count as "behind" rather than "at risk".
    ROLLOUT_BEHIND_TOLERANCE = float(os.environ.get("ROLLOUT_BEHIND_TOLERANCE", "10"))
    # Administrators' whole-city dashboard and drill-down read today's figures from today's snapshot
    # (job rollout-today-snapshot, every 10 minutes) while it is at most this old; 0: always count live.
    ROLLOUT_SNAPSHOT_MAX_AGE_MINUTES = float(os.environ.get("ROLLOUT_SNAPSHOT_MAX_AGE_MINUTES", "30"))
    # Annual credit-hour (学时) quota per staff member.
    ANNUAL_CREDIT_HOUR_QUOTA = float(os.environ.get("ANNUAL_CREDIT_HOUR_QUOTA", "50"))
    # Seconds a lesson must be open before "I have finished this lesson" is accepted (0: no minimum).
    LESSON_MIN_SECONDS = int(os.environ.get("LESSON_MIN_SECONDS", "60"))

    # E-mail (app/notifications): MAIL_SERVER empty means no e-mail is sent (in-app notices still are).
    MAIL_SERVER = os.environ.get("MAIL_SERVER", "")
    MAIL_PORT = int(os.environ.get("MAIL_PORT", "25"))
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME", "")
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD", "")
    MAIL_USE_TLS = _bool("MAIL_USE_TLS", False)  # STARTTLS on a plain connection (port 587)
    MAIL_USE_SSL = _bool("MAIL_USE_SSL", False)  # TLS from the first byte (port 465)
    MAIL_CA_FILE = os.environ.get("MAIL_CA_FILE", "")  # PEM of an internal CA for the server's certificate
    MAIL_FROM = os.environ.get("MAIL_FROM", "civicskills@localhost")
    MAIL_TIMEOUT = float(os.environ.get("MAIL_TIMEOUT", "30"))
    MAIL_MAX_ATTEMPTS = int(os.environ.get("MAIL_MAX_ATTEMPTS", "5"))
    MAIL_MAX_AGE_HOURS = float(os.environ.get("MAIL_MAX_AGE_HOURS", "72"))
    MAIL_CLAIM_SECONDS = int(os.environ.get("MAIL_CLAIM_SECONDS", "600"))
    # Reminders: days before a due date for "due soon"; weekly "overdue" reminders stop after this many weeks.
    REMINDER_DAYS_BEFORE = int(os.environ.get("REMINDER_DAYS_BEFORE", "7"))
    REMINDER_OVERDUE_WEEKS = int(os.environ.get("REMINDER_OVERDUE_WEEKS", "12"))
    # Scheduler: a job's lock row (SQLite only; PostgreSQL uses advisory locks) expires after this many seconds.
    JOB_LOCK_SECONDS = int(os.environ.get("JOB_LOCK_SECONDS", "3600"))


class DevelopmentConfig(Config):
    """Local development and the demo (`make run`)."""

    DEBUG = False


class TestingConfig(Config):
    """Test runs: database from TEST_DATABASE_URL, fast password hashing."""

    TESTING = True
    SQLALCHEMY_DATABASE_URI = os.environ.get("TEST_DATABASE_URL", "sqlite:///" + str(INSTANCE_DIR / "test.db"))
    RATELIMIT_ENABLED = False
    PASSWORD_HASH_FAST = True
    LESSON_MIN_SECONDS = 0  # walkthroughs read lessons at machine speed; tests of the rule set it
    SERVER_NAME = None


class ProductionConfig(Config):
    """Production: refuses to start without a strong SECRET_KEY."""

    SESSION_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE", True)

    @classmethod
    def validate(cls) -> None:
        """Raise RuntimeError if the SECRET_KEY is missing or weak (under 32 characters), or if
        PUBLIC_BASE_URL (the address printed on certificates) is not an absolute http(s) URL."""
        key = os.environ.get("SECRET_KEY", "")
        if len(key) < 32 or key == DEV_SECRET_KEY:
            raise RuntimeError("SECRET_KEY must be set to a random value of at least 32 characters in production")
        base = urlsplit(os.environ.get("PUBLIC_BASE_URL", "").strip())
        if base.scheme not in ("http", "https") or not base.netloc:
            raise RuntimeError("PUBLIC_BASE_URL must be set in production to the site's public address, "
                               "e.g. https://training.example.gov.cn (it is printed in certificate QR codes)")


CONFIGS = {"development": DevelopmentConfig, "testing": TestingConfig, "production": ProductionConfig}


def config_from_env() -> type[Config]:
    """Return the config class named by CIVICSKILLS_ENV (default development)."""
    return CONFIGS[os.environ.get("CIVICSKILLS_ENV", "development")]

"""Child process of ``checking.check_in_subprocess``: reads a pickled ``(task, data, filename,
max_upload_bytes)`` from stdin, checks the file, writes the ``CheckResult`` as JSON to stdout
(exit code 0 on success).

A bare Flask app with Flask-Babel (no database, no blueprints) renders the refusal messages in both
languages from the project's catalogs and carries ``PRACTICAL_MAX_UPLOAD_BYTES`` from the parent.
"""
from __future__ import annotations

import json
import pickle
import sys
from pathlib import Path


def main() -> int:
    task, data, filename, max_bytes = pickle.loads(sys.stdin.buffer.read())  # noqa: S301  # nosec B301 - our parent
    from flask import Flask
    from flask_babel import Babel

    from app.practical.checking import check_file

    app = Flask("practical_worker")
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(Path(__file__).resolve().parent.parent / "translations")
    app.config["PRACTICAL_MAX_UPLOAD_BYTES"] = max_bytes
    Babel(app)
    with app.app_context():
        result = check_file(task, data, filename)
    sys.stdout.write(json.dumps(result.to_dict(), ensure_ascii=False))
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())

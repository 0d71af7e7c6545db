"""Practical tasks (issue 9): a candidate downloads a starter .docx/.xlsx/.pptx, does the work in WPS or
Microsoft Office and uploads the result, which is checked automatically by the rules of a task file.

Public API (the exam integration codes against these names):

* ``app.practical.tasks``: ``Task``, ``load_task``, ``load_all_tasks``, ``task_fingerprint``, ``read_task_files``,
  ``fingerprint_of``, ``task_from_snapshot``, ``TaskFileError``
* ``app.practical.safety``: ``inspect_upload``, ``UploadRefused``
* ``app.practical.checking``: ``check_file``, ``CheckerServer``, ``check_in_subprocess``, ``CheckResult``,
  ``RuleResult``
* ``app.practical.validate``: ``validate_tasks`` (hooked into ``flask content sync --check``)
"""

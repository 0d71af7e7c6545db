"""Exams: blueprints, attempts, timing, autosave, grading."""

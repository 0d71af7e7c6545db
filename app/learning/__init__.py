"""Courses, lessons, enrolments, lesson progress, course completion and credit hours (学时)."""

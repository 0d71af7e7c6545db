"""Content as files: ``flask content sync`` loads standards, questions, courses, exams and certifications."""

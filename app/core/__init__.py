"""Shared building blocks: time, column types, permissions, i18n helpers, errors."""

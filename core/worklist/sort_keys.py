"""The case list's sort keys by name: light to import, for the CLI's `--sort` choices (which
must not load SQLAlchemy to print `--help`). `query.SORT_COLUMNS` maps each to its column."""
from __future__ import annotations

SORT_KEYS = ("created_at", "updated_at", "id", "status", "name", "due_at", "risk")

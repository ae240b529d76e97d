"""Imported first by the import's fork server: it ends with the process that started it."""

from faceloop.ingest.lifeline import die_with_parent

die_with_parent()

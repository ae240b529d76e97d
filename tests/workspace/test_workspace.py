"""Workspaces: creation, settings, migrations in place, and clear errors."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import inspect

from faceloop.workspace.config import Settings, SettingsError
from faceloop.db.engine import connect
from faceloop.db.migrate import current_revision, head_revision, upgrade
from faceloop.workspace import WorkspaceError, init_workspace, open_workspace, resolve


def test_init_creates_the_layout(tmp_path: Path) -> None:
    with init_workspace(tmp_path / "ws") as ws:
        for name in ("faceloop.toml", "faceloop.db", "blobs", "models"):
            assert (ws.root / name).exists(), name
        assert ws.owner_id() is not None
    with sqlite3.connect(tmp_path / "ws" / "faceloop.db") as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_init_twice_keeps_the_settings(tmp_path: Path) -> None:
    init_workspace(tmp_path).close()
    settings = tmp_path / "faceloop.toml"
    settings.write_text(settings.read_text().replace("min_face = 40", "min_face = 60"))
    with init_workspace(tmp_path) as ws:
        assert ws.settings.detect.min_face == 60


def test_the_settings_file_documents_every_default(tmp_path: Path) -> None:
    with init_workspace(tmp_path) as ws:
        assert ws.settings == Settings()


def test_missing_workspace_says_how_to_make_one(tmp_path: Path) -> None:
    with pytest.raises(WorkspaceError, match="faceloop init"):
        open_workspace(tmp_path / "nowhere")


def test_workspace_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FACELOOP_WORKSPACE", str(tmp_path))
    assert resolve(None) == tmp_path
    assert resolve(tmp_path / "x") == tmp_path / "x"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[detect]\nmin_face = 'big'\n", 'min_face = "big": must be a whole number'),
        ("[detect]\nminface = 4\n", "unknown setting 'minface'"),
        ("colour = 'red'\n", "unknown setting 'colour'"),
        ("[detect\n", "not valid TOML"),
        ("database_url = 'postgresql://db/faceloop'\n", "'database_url' is not supported"),
    ],
)
def test_bad_settings_are_named(tmp_path: Path, text: str, message: str) -> None:
    init_workspace(tmp_path).close()
    (tmp_path / "faceloop.toml").write_text(text)
    with pytest.raises(WorkspaceError, match=message):
        open_workspace(tmp_path)
    with pytest.raises(SettingsError):
        Settings.load(tmp_path / "faceloop.toml")


def test_an_earlier_template_with_an_empty_database_url_still_opens(tmp_path: Path) -> None:
    init_workspace(tmp_path).close()
    settings = tmp_path / "faceloop.toml"
    settings.write_text('database_url = ""\n' + settings.read_text())
    with open_workspace(tmp_path) as ws:
        assert ws.settings == Settings()
        assert ws.engine.url.database == str(tmp_path / "faceloop.db")


def test_older_workspace_is_migrated_in_place(tmp_path: Path) -> None:
    init_workspace(tmp_path).close()
    engine = connect(f"sqlite:///{tmp_path / 'faceloop.db'}")
    from alembic import command

    from faceloop.db.migrate import alembic_config

    command.downgrade(alembic_config(engine), "base")
    upgrade(engine, "0001")
    assert current_revision(engine) == "0001"
    engine.dispose()
    with open_workspace(tmp_path) as ws:
        assert current_revision(ws.engine) == head_revision()
        assert "face" in inspect(ws.engine).get_table_names()


def test_corrupt_database_is_a_clear_error(tmp_path: Path) -> None:
    init_workspace(tmp_path).close()
    for extra in ("-wal", "-shm"):
        Path(f"{tmp_path / 'faceloop.db'}{extra}").unlink(missing_ok=True)
    (tmp_path / "faceloop.db").write_bytes(b"this is not a database" * 100)
    with pytest.raises(WorkspaceError, match="cannot be used"):
        open_workspace(tmp_path)


def test_the_migrations_build_the_schema_the_models_describe(tmp_path: Path) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from faceloop.db.models import Base

    with init_workspace(tmp_path) as ws, ws.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert differences == []

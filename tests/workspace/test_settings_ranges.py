"""Every setting is checked against what it may be when the workspace opens: a bad value is
one line naming the file, the key, the value and what is allowed, never a photo imported with
no faces or a crash deep inside the face models."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import pytest

import faceloop
from faceloop.vision import make_detector
from faceloop.vision.pipeline import FacePipeline
from faceloop.vision.settings import DetectSettings
from faceloop.workspace import WorkspaceError, init_workspace, open_workspace
from faceloop.workspace.config import ImportSettings, ServeSettings, Settings, TrainSettings

#: the faceloop these tests import, for the command run in a subprocess
SOURCE = Path(faceloop.__file__).resolve().parents[1]


def with_setting(root: Path, section: str, line: str) -> Path:
    """A workspace whose faceloop.toml has `line` in `[section]`, the rest as the template."""
    init_workspace(root).close()
    settings = root / "faceloop.toml"
    key = line.split(" = ")[0]
    kept = [ln for ln in settings.read_text().splitlines() if not ln.startswith(f"{key} = ")]
    at = kept.index(f"[{section}]") + 1
    settings.write_text("\n".join(kept[:at] + [line] + kept[at:]) + "\n")
    return settings


BAD = [
    ("detect", "min_face = -1", "must be a whole number from 10 to 2000"),
    ("detect", "min_face = 0", "must be a whole number from 10 to 2000"),
    ("detect", "min_face = 100000", "must be a whole number from 10 to 2000"),
    ("detect", 'detector = "cnn2"', 'must be one of "hog", "cnn"'),
    ("detect", 'min_face = "big"', "must be a whole number from 10 to 2000"),
    ("detect", "min_face = 40.5", "must be a whole number from 10 to 2000"),
    ("detect", "hog_threshold = nan", "must be a number from -5.0 to 5.0"),
    ("import", "near_copy_bits = 64", "must be a whole number from 0 to 24"),
    ("train", 'confirm_order = "random"', 'must be one of "confident", "uncertain"'),
    ("train", "adapt_groups = 1", "must be true or false"),
    ("web", "max_json_kb = 0", "must be a whole number from 16 to 102_400"),
    ("web", "session_idle_hours = -5", "must be a whole number from 1 to 8784"),
    ("web", 'trusted_proxies = ["10.0.0.0/8", "my-proxy"]', '"my-proxy" is not an IP address'),
]


@pytest.mark.parametrize(("section", "line", "allowed"), BAD)
def test_a_bad_value_is_one_line_naming_file_key_value_and_what_is_allowed(
    tmp_path: Path, section: str, line: str, allowed: str
) -> None:
    settings = with_setting(tmp_path, section, line)
    shown = line.replace("nan", "NaN")
    with pytest.raises(WorkspaceError) as caught:
        open_workspace(tmp_path)
    message = str(caught.value)
    assert message.startswith(f"{settings} [{section}] {shown}: {allowed}")
    assert "\n" not in message


def test_values_at_the_ends_of_a_range_are_allowed(tmp_path: Path) -> None:
    settings = with_setting(tmp_path, "detect", "min_face = 10")
    text = settings.read_text().replace("other_ratio = 0.3", "other_ratio = 0")
    settings.write_text(
        text.replace("trusted_proxies = []", 'trusted_proxies = ["::1", "10.0.0.0/8"]')
    )
    with open_workspace(tmp_path) as ws:
        assert ws.settings.detect.min_face == 10
        assert ws.settings.train.other_ratio == 0.0
        assert isinstance(ws.settings.train.other_ratio, float)
        assert ws.settings.web.trusted_proxies == ("::1", "10.0.0.0/8")


@pytest.mark.parametrize("kind", [DetectSettings, ImportSettings, TrainSettings, ServeSettings])
def test_every_setting_says_what_it_may_be(kind: type) -> None:
    """A key added without its range would be taken as it comes: each one carries a rule
    beside its default, and the default keeps to it."""
    for spec in dataclasses.fields(kind):
        if isinstance(spec.default, bool):
            continue
        assert {"range", "choices", "check"} & set(spec.metadata), spec.name
        if "range" in spec.metadata:
            low, high = spec.metadata["range"]
            assert low <= spec.default <= high, spec.name
        if "choices" in spec.metadata:
            assert spec.default in [str(c) for c in spec.metadata["choices"]], spec.name
    assert Settings.from_dict({}) == Settings()


@pytest.mark.parametrize("command", [["status"], ["serve", "--port", "0"]])
def test_the_command_line_prints_one_line_and_exits_2(tmp_path: Path, command: list[str]) -> None:
    settings = with_setting(tmp_path, "detect", "min_face = -1")
    env = {**os.environ, "PYTHONPATH": str(SOURCE), "COLUMNS": "60"}
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "from faceloop.cli import main; main()",
            *command,
            "--workspace",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.splitlines() == [
        f"error: {settings} [detect] min_face = -1: must be a whole number from 10 to 2000"
    ]
    assert "Traceback" not in done.stdout + done.stderr


@pytest.mark.parametrize("min_face", [0, -1])
def test_the_pipeline_refuses_a_face_size_that_is_not_positive(pipeline, min_face: int) -> None:
    with pytest.raises(ValueError, match="min_face must be a positive number of pixels"):
        FacePipeline(pipeline.detector, pipeline.landmarker, pipeline.embedder, min_face=min_face)


def test_an_unknown_detector_names_the_setting() -> None:
    with pytest.raises(ValueError, match=r"^\[detect\] detector = .cnn2.: must be one of"):
        make_detector(DetectSettings(detector="cnn2"))

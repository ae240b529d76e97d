"""Settings of a workspace, read from its `faceloop.toml`.

One object holds every tunable so that no threshold is buried in code: the file written by
`faceloop init` lists each one with a comment saying what it changes.
"""

from __future__ import annotations

import dataclasses
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from faceloop.vision.settings import DetectSettings

SETTINGS_FILE = "faceloop.toml"
DATABASE_FILE = "faceloop.db"


class SettingsError(ValueError):
    """The settings file cannot be used; the message names the file and the key."""


@dataclass(frozen=True)
class ImportSettings:
    max_pixels: int = 50_000_000
    max_file_mb: int = 200
    near_copy_bits: int = 6
    workers: int = 0


@dataclass(frozen=True)
class TrainSettings:
    kind: str = "head"
    min_per_class: int = 30
    other_ratio: float = 0.3
    retrain_after: int = 200
    recluster_after: int = 100
    adapt_groups: bool = True
    top_k: int = 5
    confirm_order: str = "confident"
    identify_threshold: float = -1.0


@dataclass(frozen=True)
class ServeSettings:
    """How `faceloop serve` treats its visitors: sessions, proxies and request sizes."""

    session_idle_hours: int = 168
    session_max_days: int = 30
    secure_cookies: bool = False
    trusted_proxies: tuple[str, ...] = ()
    max_json_kb: int = 1024
    max_upload_mb: int = 2048


@dataclass(frozen=True)
class Settings:
    detect: DetectSettings = field(default_factory=DetectSettings)
    imports: ImportSettings = field(default_factory=ImportSettings)
    train: TrainSettings = field(default_factory=TrainSettings)
    web: ServeSettings = field(default_factory=ServeSettings)

    @classmethod
    def load(cls, path: Path) -> Settings:
        """Read a settings file; keys left out keep their defaults."""
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as exc:
            raise SettingsError(f"{path}: cannot read the settings file ({exc})") from exc
        except tomllib.TOMLDecodeError as exc:
            raise SettingsError(f"{path}: not valid TOML ({exc})") from exc
        return cls.from_dict(raw, source=str(path))

    @classmethod
    def from_dict(cls, raw: dict[str, Any], source: str = "settings") -> Settings:
        sections = {
            "detect": DetectSettings,
            "import": ImportSettings,
            "train": TrainSettings,
            "web": ServeSettings,
        }
        values: dict[str, Any] = {}
        for key, value in raw.items():
            if key == "database_url":
                # workspaces made by earlier versions carry an empty one in their template
                if _checked(source, key, value, ""):
                    raise SettingsError(
                        f"{source}: 'database_url' is not supported: a workspace keeps its "
                        f"database in its own SQLite file, {DATABASE_FILE}. Remove the line."
                    )
            elif key in sections:
                if not isinstance(value, dict):
                    raise SettingsError(f"{source}: [{key}] must be a table")
                name = "imports" if key == "import" else key
                values[name] = _section(sections[key], value, f"{source} [{key}]")
            else:
                raise SettingsError(f"{source}: unknown setting '{key}'")
        return cls(**values)


def _section(kind: type, raw: dict[str, Any], source: str) -> Any:
    defaults = kind()
    known = {f.name for f in dataclasses.fields(kind)}
    values = {}
    for key, value in raw.items():
        if key not in known:
            raise SettingsError(f"{source}: unknown setting '{key}'")
        values[key] = _checked(source, key, value, getattr(defaults, key))
    return kind(**values)


def _checked(source: str, key: str, value: Any, default: Any) -> Any:
    if isinstance(default, float) and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if isinstance(default, tuple) and isinstance(value, list):
        if not all(isinstance(item, str) for item in value):
            raise SettingsError(f"{source}: '{key}' must be a list of strings")
        value = tuple(value)
    if type(value) is not type(default):
        raise SettingsError(
            f"{source}: '{key}' must be {type(default).__name__}, not {type(value).__name__}"
        )
    return value


TEMPLATE = """\
# faceloop workspace settings. Every key is optional: delete one to get its default back.

[detect]
# "hog" is fast on a CPU; "cnn" (dlib's MMOD detector) finds more turned and small faces
# but takes about a second per photo.
detector = "hog"
# "torch" runs dlib's face-recognition network with PyTorch (same vectors, faster);
# "dlib" runs it with dlib itself.
embedder = "torch"
# Smallest face, in pixels, the detector should find; photos are upsampled to reach it.
min_face = 40
# Upsampling stops at this many pixels, so huge photos do not exhaust memory.
max_detect_pixels = 4000000
# Detection score thresholds: higher keeps fewer, surer faces; negative finds more.
hog_threshold = 0.0
cnn_threshold = 0.0
# The CNN detector costs about 5 s per megapixel on a CPU: its own, smaller budget.
cnn_max_pixels = 1000000

[import]
# Photos larger than this many pixels are refused as possible decompression bombs.
max_pixels = 50000000
# Files larger than this are refused.
max_file_mb = 200
# Two photos whose perceptual hashes differ in at most this many of 64 bits are the same
# photo re-posted (resized or re-compressed): the later one is linked to the first.
near_copy_bits = 6
# Worker processes for detection and embedding; 0 uses every core.
workers = 0

[train]
# "head" learns on the face embeddings in seconds; "cnn" is the original network trained on
# the 112x112 face crops (slower; for comparison with the original workflow).
kind = "head"
# People with at least this many labelled faces get a class of their own; everyone else, and
# faces marked "not a face" or "unknown person", form class 0, "other".
min_per_class = 30
# "Other" is sampled to about this share of the training set.
other_ratio = 0.3
# Retrain (from the last model) and predict again after this many new decisions.
retrain_after = 200
# Group the unlabelled look-alike faces again (faceloop cluster) after this many new decisions,
# so thresholds and "probably <name>" suggestions follow the labels. 0: only on request.
recluster_after = 100
# Once enough faces are labelled, adapt distances to these people (a projection fitted on the
# labels) for grouping and nearest-face suggestions; false keeps dlib's own distances.
adapt_groups = true
# Suggestions kept per unlabelled face.
top_k = 5
# Confirm pages: "confident" (most confident first: fastest growth) or "uncertain" (least
# confident first: most informative).
confirm_order = "confident"
# Below this score a face is "unknown" when identifying. Negative: use the threshold chosen on
# the model's held-out faces for 99% precision.
identify_threshold = -1.0

[web]
# A login session ends after this many hours without a request, and after this many days in
# any case; logging out or changing the password ends it at once.
session_idle_hours = 168
session_max_days = 30
# Send the session cookie over HTTPS only (also `faceloop serve --secure-cookies`; automatic
# when a trusted proxy says the request came over HTTPS).
secure_cookies = false
# Addresses or networks (CIDR) of reverse proxies whose X-Forwarded-For and
# X-Forwarded-Proto headers are believed; from anyone else they are ignored.
trusted_proxies = []
# Largest JSON request body, in kilobytes, and largest upload request, in megabytes.
max_json_kb = 1024
max_upload_mb = 2048
"""

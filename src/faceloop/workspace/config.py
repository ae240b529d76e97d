"""Settings of a workspace, read from its `faceloop.toml`.

One object holds every tunable so that no threshold is buried in code: the file written by
`faceloop init` lists each one with a comment saying what it changes.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from faceloop.options import GuessOrder
from faceloop.vision.settings import DetectSettings

SETTINGS_FILE = "faceloop.toml"
DATABASE_FILE = "faceloop.db"


class SettingsError(ValueError):
    """The settings file cannot be used; the message names the file and the key."""


#: what `faceloop train` can train (faceloop.learn.store.KINDS, named here so that reading the
#: settings does not load torch)
MODEL_KINDS = ("head", "cnn")


@dataclass(frozen=True)
class ImportSettings:
    #: PIL refuses above about 179 megapixels by default; a gigapixel panorama is the most a
    #: user could mean
    max_pixels: int = field(default=50_000_000, metadata={"range": (10_000, 1_000_000_000)})
    max_file_mb: int = field(default=200, metadata={"range": (1, 10_000)})
    #: of 64 bits; beyond about a third of them, different photos look like copies
    near_copy_bits: int = field(default=6, metadata={"range": (0, 24)})
    workers: int = field(default=0, metadata={"range": (0, 512)})


@dataclass(frozen=True)
class TrainSettings:
    kind: str = field(default="head", metadata={"choices": MODEL_KINDS})
    min_per_class: int = field(default=30, metadata={"range": (1, 1_000_000)})
    #: a share of the training set: all of it "other" would leave no one to learn
    other_ratio: float = field(default=0.3, metadata={"range": (0.0, 0.95)})
    #: 0 turns retraining and re-grouping after decisions off
    retrain_after: int = field(default=200, metadata={"range": (0, 10_000_000)})
    recluster_after: int = field(default=100, metadata={"range": (0, 10_000_000)})
    adapt_groups: bool = True
    top_k: int = field(default=5, metadata={"range": (1, 100)})
    confirm_order: str = field(default="confident", metadata={"choices": GuessOrder})
    #: a model's score is a probability; a negative one means "the model's own threshold"
    identify_threshold: float = field(default=-1.0, metadata={"range": (-1.0, 1.0)})


@dataclass(frozen=True)
class ServeSettings:
    """How `faceloop serve` treats its visitors: sessions, proxies and request sizes."""

    session_idle_hours: int = field(default=168, metadata={"range": (1, 24 * 366)})
    session_max_days: int = field(default=30, metadata={"range": (1, 3660)})
    secure_cookies: bool = False
    trusted_proxies: tuple[str, ...] = field(default=(), metadata={"check": "networks"})
    #: the app's own requests are a few kilobytes; 100 MB is far beyond any of them
    max_json_kb: int = field(default=1024, metadata={"range": (16, 102_400)})
    max_upload_mb: int = field(default=2048, metadata={"range": (1, 100_000)})


@dataclass(frozen=True)
class CollectSettings:
    """How photos are collected from sources: when, how politely, and what is believed."""

    #: a new source's schedule; each run is put off by up to `jitter` of it, at random
    every_minutes: int = field(default=30, metadata={"range": (1, 7 * 24 * 60)})
    jitter: float = field(default=0.1, metadata={"range": (0.0, 0.5)})
    #: posts a new source reads back on its first run
    backfill: int = field(default=200, metadata={"range": (0, 100_000)})
    timeout_seconds: float = field(default=20.0, metadata={"range": (1.0, 600.0)})
    max_image_mb: int = field(default=50, metadata={"range": (1, 2048)})
    #: networks the address guard lets through although internal (tests' local servers)
    allow_networks: tuple[str, ...] = field(default=(), metadata={"check": "networks"})
    #: label a single-face photo from an account linked to a person without asking
    label_own_selfies: bool = False


@dataclass(frozen=True)
class Settings:
    detect: DetectSettings = field(default_factory=DetectSettings)
    imports: ImportSettings = field(default_factory=ImportSettings)
    train: TrainSettings = field(default_factory=TrainSettings)
    web: ServeSettings = field(default_factory=ServeSettings)
    collect: CollectSettings = field(default_factory=CollectSettings)

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
            "collect": CollectSettings,
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
    fields = {f.name: f for f in dataclasses.fields(kind)}
    values = {}
    for key, value in raw.items():
        if key not in fields:
            raise SettingsError(f"{source}: unknown setting '{key}'")
        problem = _problem(fields[key], value)
        if problem:
            raise SettingsError(f"{source} {key} = {_shown(value)}: {problem}")
        values[key] = _as_stored(fields[key], value)
    return kind(**values)


def _problem(spec: dataclasses.Field, value: Any) -> str | None:
    """What is wrong with a value for this field, as the end of one line; None if nothing.

    The allowed values come from the field's metadata (beside its default in the dataclass),
    so a key's limits are written once."""
    default = spec.default
    meta = spec.metadata
    if isinstance(default, bool):
        return None if isinstance(value, bool) else "must be true or false"
    if "choices" in meta:
        choices = tuple(str(c) for c in meta["choices"])
        if isinstance(value, str) and value in choices:
            return None
        return "must be one of " + ", ".join(_shown(c) for c in choices)
    if isinstance(default, int):
        low, high = meta.get("range", (None, None))
        if isinstance(value, int) and not isinstance(value, bool) and _within(value, low, high):
            return None
        return f"must be a whole number from {_number(low)} to {_number(high)}"
    if isinstance(default, float):
        low, high = meta.get("range", (None, None))
        number = isinstance(value, int | float) and not isinstance(value, bool)
        if number and _within(value, low, high):
            return None
        return f"must be a number from {low} to {high}"
    if meta.get("check") == "networks":
        return _networks_problem(value)
    if not isinstance(value, type(default)):
        return f"must be {type(default).__name__}, not {type(value).__name__}"
    return None


def _within(value: float, low: float | None, high: float | None) -> bool:
    # NaN (which TOML allows) is within no range
    return (low is None or value >= low) and (high is None or value <= high)


def _number(value: int) -> str:
    """A whole number as TOML may write it: 1_000_000 rather than 1000000."""
    return f"{value:_}" if abs(value) >= 10_000 else str(value)


def _networks_problem(value: Any) -> str | None:
    example = '["127.0.0.1", "10.0.0.0/8"]'
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        return f"must be a list of IP addresses or networks, like {example}"
    for item in value:
        try:
            ipaddress.ip_network(item, strict=False)
        except ValueError:
            return f"{_shown(item)} is not an IP address or network, like {example}"
    return None


def _as_stored(spec: dataclasses.Field, value: Any) -> Any:
    """The checked value as the dataclass holds it (a float field given 1 holds 1.0)."""
    if isinstance(spec.default, float):
        return float(value)
    if isinstance(spec.default, tuple):
        return tuple(value)
    return value


def _shown(value: Any) -> str:
    """A value written as it would be in the TOML file."""
    try:
        return json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        return repr(value)


def _checked(source: str, key: str, value: Any, default: Any) -> Any:
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

[collect]
# A new source runs every this many minutes, each run put off by up to this share of it.
every_minutes = 30
jitter = 0.1
# Posts a new source reads back on its first run.
backfill = 200
# Network timeout, and the largest image fetched.
timeout_seconds = 20.0
max_image_mb = 50
# Collection never fetches from loopback, private or link-local addresses (a URL list or a
# feed must not reach this machine's own services), except from networks listed here.
allow_networks = []
# A single-face photo from an account linked to a person is her; true labels it without
# asking (false: it comes first on the confirm pages, for one keystroke).
label_own_selfies = false
"""

"""dlib's ResNet run by PyTorch: the same vectors as dlib, several times faster on a CPU
(dlib's wheels have no BLAS)."""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

import numpy as np
import torch

from faceloop.vision import model_files
from faceloop.vision.resnet_torch import embed_chips, load_resnet


def cache_dir() -> Path:
    """Converted weights are kept per user, so every workspace and worker parses them once."""
    if os.environ.get("FACELOOP_CACHE"):
        return Path(os.environ["FACELOOP_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "faceloop"


@cache
def shared_resnet() -> torch.nn.Module:
    """The network is read-only at inference: one copy per process, inherited by forked
    workers."""
    return load_resnet(model_files.model_path(model_files.RESNET), cache_dir())


class TorchEmbedder:
    name = "dlib-resnet-torch"

    def __init__(self, threads: int | None = None) -> None:
        if threads:
            torch.set_num_threads(threads)
        self._model = shared_resnet()

    def embed(self, chips: np.ndarray) -> np.ndarray:
        if len(chips) == 0:
            return np.zeros((0, 128), dtype=np.float32)
        return embed_chips(self._model, np.asarray(chips))

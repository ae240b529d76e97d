"""Training-time image augmentation for the CNN, in plain torch (torchvision is not a
dependency).

Each face is seen a little differently every epoch (a random 96x96 window of the 112x112 crop,
mirrored half the time, with its light and colour shifted) so that a network with a million
weights trained on a few dozen faces per person learns the person rather than the photo. The
jitter follows TensorFlow's image ops that the original workflow used: brightness adds a delta,
contrast and saturation scale the distance from the per-image mean and from grey, hue rotates
the chroma plane.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

# RGB <-> YIQ: hue is the angle in the IQ plane, so a hue shift is a rotation there.
_RGB_TO_YIQ = torch.tensor([[0.299, 0.587, 0.114], [0.596, -0.274, -0.322], [0.211, -0.523, 0.312]])
_YIQ_TO_RGB = torch.linalg.inv(_RGB_TO_YIQ)
_GREY = torch.tensor([0.299, 0.587, 0.114])


@dataclass(frozen=True)
class Jitter:
    """How far each colour property may move, as in tf.image.random_*."""

    brightness: float = 0.15
    contrast: tuple[float, float] = (0.7, 1.3)
    saturation: tuple[float, float] = (0.7, 1.3)
    hue: float = 0.04


def to_float(images: np.ndarray) -> torch.Tensor:
    """(N, H, W, 3) uint8 to (N, 3, H, W) float in [0, 1]."""
    return torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).float() / 255.0


def centre_crop(images: torch.Tensor, size: int) -> torch.Tensor:
    top = (images.shape[2] - size) // 2
    left = (images.shape[3] - size) // 2
    return images[:, :, top : top + size, left : left + size]


def random_crop_flip(images: torch.Tensor, size: int, generator: torch.Generator) -> torch.Tensor:
    n, _, height, width = images.shape
    tops = torch.randint(0, height - size + 1, (n,), generator=generator).tolist()
    lefts = torch.randint(0, width - size + 1, (n,), generator=generator).tolist()
    crops = torch.stack(
        [
            image[:, t : t + size, x : x + size]
            for image, t, x in zip(images, tops, lefts, strict=True)
        ]
    )
    flip = torch.rand(n, generator=generator) < 0.5
    return torch.where(flip[:, None, None, None], crops.flip(3), crops)


def _uniform(n: int, low: float, high: float, generator: torch.Generator) -> torch.Tensor:
    return (low + (high - low) * torch.rand(n, generator=generator))[:, None, None, None]


def colour_jitter(images: torch.Tensor, jitter: Jitter, generator: torch.Generator) -> torch.Tensor:
    """Random brightness, contrast, saturation and hue per image; (N, 3, H, W) in [0, 1]."""
    n = images.shape[0]
    x = images + _uniform(n, -jitter.brightness, jitter.brightness, generator)
    mean = x.mean(dim=(2, 3), keepdim=True)
    x = mean + (x - mean) * _uniform(n, *jitter.contrast, generator)
    grey = (x * _GREY[None, :, None, None]).sum(dim=1, keepdim=True)
    x = grey + (x - grey) * _uniform(n, *jitter.saturation, generator)
    angle = (2 * math.pi * jitter.hue) * (2 * torch.rand(n, generator=generator) - 1)
    cos, sin = torch.cos(angle), torch.sin(angle)
    rotation = torch.zeros(n, 3, 3)
    rotation[:, 0, 0] = 1.0
    rotation[:, 1, 1], rotation[:, 1, 2] = cos, -sin
    rotation[:, 2, 1], rotation[:, 2, 2] = sin, cos
    transform = _YIQ_TO_RGB @ rotation @ _RGB_TO_YIQ
    x = torch.einsum("nij,njhw->nihw", transform, x)
    return x.clamp(0.0, 1.0)

"""dlib's face-recognition ResNet (``dlib_face_recognition_resnet_model_v1``) in PyTorch.

dlib-bin is built without BLAS, so its network runs single-threaded through dlib's own matrix
code; the same weights through PyTorch's oneDNN kernels are several times faster. The weights
are read straight from dlib's ``.dat`` file, so no converted model has to be shipped or trusted,
and the descriptors match ``dlib.face_recognition_model_v1`` to float32 rounding (~1e-6).

The file is dlib's serialisation of ``anet_type`` (dlib ``examples/dnn_face_recognition_ex.cpp``).
Every ``add_layer`` writes its sub-network *before* its own details, so the stream starts with
one version number per layer from the top down, reaches the input layer, and then unwinds from
the bottom up with each layer's parameters.
"""

from __future__ import annotations

import os
import pickle
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

EMBEDDING_DIM = 128
CHIP_SIZE = 150

# Part of the cache file name: bump it when the cached arrays change meaning.
_CACHE_FORMAT = 1

# (channels, blocks, whether the first block halves the resolution) in the order data flows
# through them: alevel4 .. alevel0 of anet_type.
_STAGES: tuple[tuple[int, int, bool], ...] = (
    (32, 3, False),
    (64, 4, True),
    (128, 3, True),
    (256, 3, True),
    (256, 1, True),
)

# dlib's float_details marks non-finite values with these exponents.
_EXP_INF, _EXP_NINF = 32000, 32001


class DlibFormatError(ValueError):
    """The file is not the dlib network this module reimplements, or it is damaged."""


# ----------------------------------------------------------------------------------------------
# dlib's serialisation primitives (dlib/serialize.h, dlib/cuda/tensor.h).


class _Reader:
    def __init__(self, data: bytes) -> None:
        # A memoryview, so slicing out the 22 MB of weights copies nothing.
        self.data = memoryview(data)
        self.pos = 0

    def take(self, n: int) -> memoryview:
        end = self.pos + n
        if end > len(self.data):
            raise DlibFormatError(f"unexpected end of file at byte {self.pos}")
        chunk = self.data[self.pos : end]
        self.pos = end
        return chunk

    def read_int(self) -> int:
        # A control byte (bit 7: negative, bits 0-3: byte count), then the magnitude in
        # little-endian order. Every integer type, signed or not, uses this encoding.
        ctrl = self.take(1)[0]
        size = ctrl & 0x0F
        if size > 8:
            raise DlibFormatError(f"bad integer control byte {ctrl:#x} at byte {self.pos - 1}")
        value = int.from_bytes(self.take(size), "little")
        return -value if ctrl & 0x80 else value

    def read_string(self) -> str:
        return bytes(self.take(self.read_int())).decode("latin-1")

    def peek_string(self) -> str | None:
        start = self.pos
        try:
            size = self.read_int()
            return bytes(self.take(size)).decode("latin-1") if size <= 64 else None
        except DlibFormatError:
            return None
        finally:
            self.pos = start

    def read_bool(self) -> bool:
        ch = bytes(self.take(1))
        if ch not in (b"0", b"1"):
            raise DlibFormatError(f"bad bool {ch!r} at byte {self.pos - 1}")
        return ch == b"1"

    def read_float32(self) -> np.float32:
        mantissa, exponent = self.read_int(), self.read_int()
        return float_details_to_float32(np.array([mantissa]), np.array([exponent]))[0]

    def read_float64(self) -> float:
        mantissa, exponent = self.read_int(), self.read_int()
        if exponent >= _EXP_INF:
            return {_EXP_INF: np.inf, _EXP_NINF: -np.inf}.get(exponent, np.nan)
        return float(np.ldexp(np.float64(mantissa), exponent))

    def read_tensor(self) -> np.ndarray:
        version = self.read_int()
        shape = tuple(self.read_int() for _ in range(4))
        count = int(np.prod(shape))
        if version == 2:
            # Raw little-endian IEEE floats (dlib since 2016): one vectorised read per tensor.
            return np.frombuffer(self.take(4 * count), dtype="<f4").astype(np.float32)
        if version == 1:
            # Every value as float_details. Each integer's length is in its own control byte, so
            # the offsets have to be walked in order; the conversion is then vectorised.
            pairs = np.array([self.read_int() for _ in range(2 * count)], dtype=np.int64)
            return float_details_to_float32(pairs[0::2], pairs[1::2])
        raise DlibFormatError(f"unsupported tensor version {version}")

    def read_alias_tensor(self) -> int:
        """Returns the size; the shape is implied by the network."""
        if (version := self.read_int()) != 1:
            raise DlibFormatError(f"unsupported alias_tensor version {version}")
        return int(np.prod([self.read_int() for _ in range(4)]))


def float_details_to_float32(mantissas: np.ndarray, exponents: np.ndarray) -> np.ndarray:
    """dlib's portable float: ``mantissa * 2**exponent``, rebuilt as dlib does,
    ``ldexpf((float)mantissa, exponent)``, so the float32 result is bit-identical to dlib's."""
    finite = exponents < _EXP_INF
    safe_exponents = np.where(finite, exponents, 0).astype(np.int32)
    out = np.ldexp(mantissas.astype(np.float32), safe_exponents).astype(np.float32)
    out[exponents == _EXP_INF] = np.inf
    out[exponents == _EXP_NINF] = -np.inf
    out[exponents > _EXP_NINF] = np.nan
    return out


@dataclass
class _Layer:
    kind: str
    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    geometry: tuple[int, ...] = ()


def _read_details(r: _Reader) -> _Layer:
    """One layer's own parameters, per its ``serialize`` in dlib/dnn/layers.h."""
    name = r.read_string()
    if name == "con_4":
        params = r.read_tensor()
        num_filters, nr, nc = r.read_int(), r.read_int(), r.read_int()
        geometry = (nr, nc, *(r.read_int() for _ in range(4)))
        n_weights = r.read_alias_tensor()
        r.read_alias_tensor()
        for _ in range(4):
            r.read_float64()
        weight = params[:n_weights].reshape(num_filters, -1, nr, nc)
        bias = params[n_weights : n_weights + num_filters]
        return _Layer("con", {"weight": weight, "bias": bias}, geometry)
    if name == "affine_":
        params = r.read_tensor()
        n_gamma = r.read_alias_tensor()
        r.read_alias_tensor()
        r.read_int()
        gamma, beta = params[:n_gamma], params[n_gamma : 2 * n_gamma]
        return _Layer("affine", {"gamma": gamma, "beta": beta})
    if name in ("max_pool_2", "avg_pool_2"):
        return _Layer(name.removesuffix("_2"), geometry=tuple(r.read_int() for _ in range(6)))
    if name == "fc_2":
        num_outputs, num_inputs = r.read_int(), r.read_int()
        params = r.read_tensor()
        r.read_alias_tensor()
        r.read_alias_tensor()
        if r.read_int() != 1:
            raise DlibFormatError("expected fc_no_bias")
        for _ in range(4):
            r.read_float64()
        weight = params[: num_inputs * num_outputs].reshape(num_inputs, num_outputs)
        return _Layer("fc", {"weight": weight})
    if name in ("relu_", "add_prev_"):
        return _Layer(name.removesuffix("_"))
    raise DlibFormatError(f"unsupported dlib layer {name!r}")


def _read_input_layer(r: _Reader) -> np.ndarray:
    name = r.read_string()
    if name != "input_rgb_image_sized":
        raise DlibFormatError(f"expected input_rgb_image_sized, found {name!r}")
    mean = np.array([r.read_float32() for _ in range(3)], dtype=np.float32)
    size = (r.read_int(), r.read_int())
    if size != (CHIP_SIZE, CHIP_SIZE):
        raise DlibFormatError(f"network takes {size} inputs, not {CHIP_SIZE}x{CHIP_SIZE}")
    return mean


def _skip_add_layer_state(r: _Reader) -> None:
    # this_layer_setup_called, gradient_input_is_stale, get_output_and_gradient_input_disabled,
    # then x_grad, cached_output and params_grad (or grad_final on the input layer): all empty
    # in a saved model, but their headers still have to be consumed.
    for _ in range(3):
        r.read_bool()
    for _ in range(3):
        r.read_tensor()


def _read_network(data: bytes) -> tuple[np.ndarray, list[_Layer]]:
    """The input mean, and the layers from the input upwards. Tag and skip layers carry nothing
    but are kept as kind ``"mark"`` so the topology can be checked."""
    r = _Reader(data)
    if (version := r.read_int()) != 1:
        raise DlibFormatError(f"unsupported add_loss_layer version {version}")
    if (loss := r.read_string()) != "loss_metric_2":
        raise DlibFormatError(f"expected loss_metric, found {loss!r}")
    r.read_float64()
    r.read_float64()

    # Going down: add_layer writes version 2, add_tag_layer and add_skip_layer version 1, and
    # the add_layer sitting on the input layer (version 2 or 3) is told apart by the input
    # layer's name following its version number.
    stack: list[int] = []
    while True:
        version = r.read_int()
        name = r.peek_string()
        if name is not None and name.startswith("input"):
            input_version = version
            break
        if version not in (1, 2) or len(stack) > 1000:
            raise DlibFormatError(f"unexpected layer version {version} at byte {r.pos}")
        stack.append(version)

    mean = _read_input_layer(r)
    layers = [_read_details(r)]
    _skip_add_layer_state(r)
    if input_version >= 3:
        r.read_int()

    for version in reversed(stack):
        if version == 1:
            layers.append(_Layer("mark"))
        else:
            layers.append(_read_details(r))
            _skip_add_layer_state(r)
    if r.pos != len(data):
        raise DlibFormatError(f"{len(data) - r.pos} unread bytes after the network")
    return mean, layers


# ----------------------------------------------------------------------------------------------
# From dlib's layer list to named arrays.


def _expected_kinds() -> list[str]:
    kinds = ["con", "affine", "relu", "max_pool"]
    for _channels, blocks, downsample in _STAGES:
        for i in range(blocks):
            kinds += ["mark", "con", "affine", "relu", "con", "affine"]
            if downsample and i == 0:
                kinds += ["mark", "mark", "avg_pool"]
            kinds += ["add_prev", "relu"]
    return [*kinds, "avg_pool", "fc"]


def _expected_conv_geometry() -> list[tuple[int, ...]]:
    # (rows, cols, stride_y, stride_x, padding_y, padding_x); dlib pads kernel/2 at stride 1
    # and not at all otherwise.
    geometry: list[tuple[int, ...]] = [(7, 7, 2, 2, 0, 0)]
    for _channels, blocks, downsample in _STAGES:
        for i in range(blocks):
            first = (3, 3, 2, 2, 0, 0) if downsample and i == 0 else (3, 3, 1, 1, 1, 1)
            geometry += [first, (3, 3, 1, 1, 1, 1)]
    return geometry


def _conv_names() -> list[str]:
    blocks = [f"stage{s}.{b}" for s, (_, n, _) in enumerate(_STAGES) for b in range(n)]
    return ["stem"] + [f"{block}.conv{i}" for block in blocks for i in (1, 2)]


def parse_dlib_resnet(dat_path: Path) -> dict[str, np.ndarray]:
    """Reads dlib's ``.dat`` file into named float32 arrays, exactly as dlib stores them.

    Each affine layer stays separate from its convolution (``<conv>.scale`` / ``<conv>.shift``)
    so the arrays are a faithful copy of the file; folding happens when the module is built.
    The whole layer sequence and every kernel geometry are checked, because any other network
    would otherwise load without complaint and produce meaningless vectors.
    """
    mean, layers = _read_network(Path(dat_path).read_bytes())
    if [layer.kind for layer in layers] != _expected_kinds():
        raise DlibFormatError("the layer sequence is not dlib_face_recognition_resnet_model_v1")

    convs = [layer for layer in layers if layer.kind == "con"]
    affines = [layer for layer in layers if layer.kind == "affine"]
    pools = [layer.geometry for layer in layers if layer.kind in ("max_pool", "avg_pool")]
    if [conv.geometry for conv in convs] != _expected_conv_geometry():
        raise DlibFormatError("convolution sizes, strides or padding differ from dlib's model")
    if pools != [(3, 3, 2, 2, 0, 0)] + [(2, 2, 2, 2, 0, 0)] * 4 + [(0, 0, 1, 1, 0, 0)]:
        raise DlibFormatError("pooling sizes, strides or padding differ from dlib's model")

    arrays: dict[str, np.ndarray] = {"input_mean": mean}
    for name, conv, affine in zip(_conv_names(), convs, affines, strict=True):
        arrays[f"{name}.weight"] = conv.arrays["weight"]
        arrays[f"{name}.bias"] = conv.arrays["bias"]
        arrays[f"{name}.scale"] = affine.arrays["gamma"]
        arrays[f"{name}.shift"] = affine.arrays["beta"]
    arrays["fc.weight"] = layers[-1].arrays["weight"]
    return arrays


# ----------------------------------------------------------------------------------------------
# The network.


def _zero_pad_add(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    # dlib's add_prev sums tensors of different shapes as if the missing trailing channels, rows
    # and columns were zeros (cpu::add in dlib/cuda/cpu_dlib.cpp). That is how a shortcut gains
    # channels, and how the 3x3 (then 1x1) strided branch meets its 4x4 (then 2x2) avg-pooled
    # shortcut: dlib's pools and strided convs disagree on output size for even inputs.
    shape = [max(x, y) for x, y in zip(a.shape, b.shape, strict=True)]

    def grow(t: torch.Tensor) -> torch.Tensor:
        missing = [shape[i] - t.shape[i] for i in (3, 2, 1)]
        if not any(missing):
            return t
        return F.pad(t, (0, missing[0], 0, missing[1], 0, missing[2]))

    return grow(a) + grow(b)


def _conv(cin: int, cout: int, kernel: int, stride: int) -> nn.Conv2d:
    padding = kernel // 2 if stride == 1 else 0
    return nn.Conv2d(cin, cout, kernel, stride=stride, padding=padding, bias=True)


class _Block(nn.Module):
    """dlib's ``ares`` / ``ares_down``."""

    def __init__(self, cin: int, cout: int, downsample: bool) -> None:
        super().__init__()
        self.downsample = downsample
        self.conv1 = _conv(cin, cout, 3, 2 if downsample else 1)
        self.conv2 = _conv(cout, cout, 3, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.conv2(F.relu(self.conv1(x)))
        if self.downsample:
            return F.relu(_zero_pad_add(h, F.avg_pool2d(x, 2, 2)))
        return F.relu(h + x)


class DlibResNet(nn.Module):
    """``anet_type`` with each ``affine`` folded into the convolution below it (filters scaled,
    bias shifted): one pass over every activation instead of two, for a difference of float32
    rounding only. Pools and strided convolutions never reach past the border here, so dlib's
    own border handling never comes into play and PyTorch's pools match it exactly."""

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("input_mean", torch.zeros(3))
        self.stem = _conv(3, 32, 7, 2)
        cin = 32
        for i, (channels, blocks, downsample) in enumerate(_STAGES):
            stage = [_Block(cin, channels, downsample)]
            stage += [_Block(channels, channels, False) for _ in range(blocks - 1)]
            self.add_module(f"stage{i}", nn.Sequential(*stage))
            cin = channels
        self.fc = nn.Linear(256, EMBEDDING_DIM, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x``: chips from :func:`preprocess`, N x 3 x 150 x 150."""
        x = F.max_pool2d(F.relu(self.stem(x)), 3, 2)
        for i in range(len(_STAGES)):
            x = getattr(self, f"stage{i}")(x)
        return self.fc(x.mean(dim=(2, 3)))

    def load_dlib_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        """Loads :func:`parse_dlib_resnet` output (see :func:`fold_dlib_arrays`)."""
        self.load_state_dict(fold_dlib_arrays(arrays), assign=True)


def fold_dlib_arrays(arrays: dict[str, np.ndarray]) -> dict[str, torch.Tensor]:
    """The :class:`DlibResNet` state dict: each affine folded into its convolution, filters laid
    out channels_last.

    channels_last spares oneDNN a layout reorder around every convolution, about 25% faster on
    one thread (measured 13.5 vs 17.8 ms/face at batch 1, 8.5 vs 11.6 at batch 16); numpy does
    the reordering copy several times faster than ``Module.to(memory_format=...)``.
    """
    state = {"input_mean": torch.from_numpy(np.array(arrays["input_mean"]))}
    for name in _conv_names():
        scale = arrays[f"{name}.scale"]
        weight = arrays[f"{name}.weight"] * scale[:, None, None, None]
        bias = arrays[f"{name}.bias"] * scale + arrays[f"{name}.shift"]
        nhwc = np.ascontiguousarray(weight.transpose(0, 2, 3, 1), dtype=np.float32)
        state[f"{name}.weight"] = torch.from_numpy(nhwc).permute(0, 3, 1, 2)
        state[f"{name}.bias"] = torch.from_numpy(bias.astype(np.float32))
    state["fc.weight"] = torch.from_numpy(np.ascontiguousarray(arrays["fc.weight"].T))
    return state


# ----------------------------------------------------------------------------------------------
# Loading and embedding.


def _cache_file(dat_path: Path, cache_dir: Path) -> Path:
    # Size and mtime rather than a hash: hashing the 22 MB file costs about as much as parsing.
    st = dat_path.stat()
    return cache_dir / f"{dat_path.stem}-{st.st_size}-{st.st_mtime_ns}-v{_CACHE_FORMAT}.pt"


def _state_dict(dat_path: Path, cache_dir: Path | None) -> dict[str, torch.Tensor]:
    if cache_dir is None:
        return fold_dlib_arrays(parse_dlib_resnet(dat_path))
    cached = _cache_file(dat_path, cache_dir)
    try:
        # Memory-mapped: nearly free to open, and worker processes share the pages.
        return torch.load(cached, mmap=True, weights_only=True)
    except FileNotFoundError:
        pass
    except (OSError, RuntimeError, ValueError, EOFError, pickle.UnpicklingError):
        cached.unlink(missing_ok=True)
    state = fold_dlib_arrays(parse_dlib_resnet(dat_path))
    cache_dir.mkdir(parents=True, exist_ok=True)
    # Write, then rename: concurrent workers never see a half-written cache, and processes
    # still mapping an older file keep their (unlinked) copy.
    fd, tmp = tempfile.mkstemp(dir=cache_dir, prefix=".resnet-", suffix=".pt")
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(state, f)
        os.replace(tmp, cached)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return state


def load_resnet(dat_path: Path, cache_dir: Path | None = None) -> DlibResNet:
    """Builds the network, in eval mode, from dlib's own weights file.

    With ``cache_dir`` the converted weights are kept in a file named after the ``.dat``'s size
    and mtime, so later processes skip parsing and a replaced model file is never served stale.
    A corrupt cache file is discarded and rebuilt.
    """
    # Built on the meta device: random initialisation of 5.6 M weights that are overwritten at
    # once would cost more than parsing the file.
    with torch.device("meta"):
        model = DlibResNet()
    try:
        model.load_state_dict(_state_dict(Path(dat_path), cache_dir), assign=True)
    except RuntimeError:
        if cache_dir is None:
            raise
        # A cache readable by torch.load but not matching this network (hand-edited, or
        # written by other code under the same name): rebuild it from the .dat file.
        _cache_file(Path(dat_path), cache_dir).unlink(missing_ok=True)
        model.load_state_dict(_state_dict(Path(dat_path), cache_dir), assign=True)
    model.eval()
    model.requires_grad_(False)
    return model


def preprocess(chips: np.ndarray, input_mean: np.ndarray) -> torch.Tensor:
    """dlib's ``input_rgb_image_sized``: ``(pixel - channel mean) / 256`` in float32, as R, G
    and B planes (dlib/dnn/input.h)."""
    if chips.ndim != 4 or chips.shape[1:] != (CHIP_SIZE, CHIP_SIZE, 3) or chips.dtype != np.uint8:
        raise ValueError(
            f"expected uint8 RGB chips of shape (N, {CHIP_SIZE}, {CHIP_SIZE}, 3), "
            f"got {chips.dtype} {chips.shape}"
        )
    x = (chips.astype(np.float32) - input_mean.astype(np.float32)) / np.float32(256)
    # The N x C x H x W view of an N x H x W x C array is channels_last already: no copy.
    return torch.from_numpy(x).permute(0, 3, 1, 2)


def embed_chips(model: DlibResNet, chips: np.ndarray, batch_size: int = 16) -> np.ndarray:
    """128-D descriptors for aligned 150x150 RGB chips (``dlib.get_face_chip(img, shape, 150,
    0.25)``), equal to ``face_recognition_model_v1.compute_face_descriptor(chip)`` to ~1e-6.

    Working in batches of ``batch_size`` bounds memory (under 1 MB of activations per chip at
    the widest layer) and keeps most of the batching speed-up, which levels off around 16.
    """
    chips = np.asarray(chips)
    if chips.ndim == 3:
        chips = chips[None]
    out = np.empty((len(chips), EMBEDDING_DIM), dtype=np.float32)
    mean = model.input_mean.numpy()
    with torch.inference_mode():
        for start in range(0, len(chips), batch_size):
            batch = preprocess(chips[start : start + batch_size], mean)
            out[start : start + len(batch)] = model(batch).numpy()
    return out

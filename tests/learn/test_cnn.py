from __future__ import annotations

import numpy as np
import pytest
import torch

from faceloop.learn import CnnClassifier
from faceloop.learn.augment import Jitter, centre_crop, colour_jitter, random_crop_flip, to_float
from faceloop.learn.estimator import refusal_loss
from faceloop.testing.faces import synthetic_crops


def test_network_has_the_original_shape() -> None:
    crops, labels = synthetic_crops(2, 1)
    model = CnnClassifier(max_epochs=0).fit(crops, labels)
    shapes = {name: tuple(p.shape) for name, p in model.module_.named_parameters()}
    assert [shapes[f"convs.{i}.weight"] for i in range(4)] == [
        (32, 3, 3, 3),
        (48, 32, 3, 3),
        (72, 48, 3, 3),
        (108, 72, 3, 3),
    ]
    assert shapes["fc1.weight"] == (1024, 108 * 6 * 6)  # 96 -> 48 -> 24 -> 12 -> 6
    assert shapes["fc2.weight"] == (256, 1024)
    assert shapes["out.weight"] == (3, 256)  # other + two people


def test_random_crops_are_windows_of_the_image_mirrored_or_not() -> None:
    images = to_float(np.random.default_rng(0).integers(0, 256, (8, 28, 28, 3), np.uint8))
    crops = random_crop_flip(images, 24, torch.Generator().manual_seed(1))
    assert crops.shape == (8, 3, 24, 24)
    flipped = 0
    for image, crop in zip(images, crops, strict=True):
        windows = image.unfold(1, 24, 1).unfold(2, 24, 1)  # (3, 5, 5, 24, 24)
        plain = (windows == crop[:, None, None]).all(-1).all(-1).all(0).any()
        mirrored = (windows == crop.flip(2)[:, None, None]).all(-1).all(-1).all(0).any()
        assert plain or mirrored
        flipped += int(mirrored and not plain)
    assert 0 < flipped < 8
    again = random_crop_flip(images, 24, torch.Generator().manual_seed(1))
    assert torch.equal(crops, again)


def test_centre_crop_is_centred() -> None:
    images = torch.zeros(1, 3, 112, 112)
    images[:, :, 8:104, 8:104] = 1.0
    assert centre_crop(images, 96).min() == 1.0


def test_colour_jitter_stays_in_range_varies_and_is_identity_when_off() -> None:
    rng = np.random.default_rng(0)
    images = to_float(rng.integers(0, 256, (16, 20, 20, 3), np.uint8))
    jittered = colour_jitter(images, Jitter(), torch.Generator().manual_seed(0))
    assert jittered.min() >= 0.0 and jittered.max() <= 1.0
    assert not torch.allclose(jittered, images, atol=1e-3)
    off = Jitter(brightness=0.0, contrast=(1.0, 1.0), saturation=(1.0, 1.0), hue=0.0)
    same = colour_jitter(images, off, torch.Generator().manual_seed(0))
    torch.testing.assert_close(same, images, atol=1e-5, rtol=0)


def test_hue_turns_colours_but_leaves_grey_grey() -> None:
    grey = torch.full((4, 3, 2, 2), 0.5)
    red = torch.zeros(4, 3, 2, 2)
    red[:, 0] = 0.8
    hue_only = Jitter(brightness=0.0, contrast=(1.0, 1.0), saturation=(1.0, 1.0), hue=0.2)
    generator = torch.Generator().manual_seed(3)
    torch.testing.assert_close(colour_jitter(grey, hue_only, generator), grey, atol=1e-5, rtol=0)
    assert not torch.allclose(colour_jitter(red, hue_only, generator), red, atol=1e-2)


def test_refusal_loss_is_minus_log_one_minus_p_and_finite_when_sure() -> None:
    logits = torch.tensor([[2.0, 0.5, -1.0], [40.0, 0.0, 0.0]], requires_grad=True)
    refused = torch.tensor([0, 0])
    loss = refusal_loss(logits, refused)
    p = torch.softmax(logits, dim=1)[0, 0]
    torch.testing.assert_close(loss[0], -torch.log(1 - p))
    assert torch.isfinite(loss[1]) and loss[1] > 30
    loss.sum().backward()
    assert (logits.grad[:, 0] > 0).all()  # descending the loss lowers the refused logit


def test_cnn_learns_and_predicts_centre_crops() -> None:
    crops, labels = synthetic_crops(2, 8, seed=3)
    model = CnnClassifier(max_epochs=6, batch_size=8, n_iter_no_change=6, seed=0)
    model.fit(crops, labels)
    assert model.classes_.tolist() == [0, 1, 2]
    assert model.history_[-1]["loss"] < model.history_[0]["loss"]
    assert np.mean(model.predict(crops) == labels) >= 0.75
    proba = model.predict_proba(crops[:3])
    assert proba.shape == (3, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-5)


def test_cnn_negatives_lower_the_refused_class() -> None:
    crops, labels = synthetic_crops(3, 6, seed=4)
    people = labels != 3
    refused = crops[~people]  # faces of someone else, refused as person 1
    params = {"max_epochs": 3, "batch_size": 8, "n_iter_no_change": 3, "seed": 0}
    plain = CnnClassifier(**params).fit(crops[people], labels[people])
    told = CnnClassifier(**params).fit(
        crops[people], labels[people], negatives=(refused, np.ones(len(refused), np.int64))
    )
    column = plain.classes_.tolist().index(1)
    before = plain.predict_proba(refused)[:, column].mean()
    after = told.predict_proba(refused)[:, column].mean()
    print(f"\nCNN p(person 1) on refused faces: {before:.3f} without negatives, {after:.3f} with")
    assert after < before


def test_crops_of_the_wrong_shape_are_refused() -> None:
    with pytest.raises(ValueError, match="uint8"):
        CnnClassifier().fit(np.zeros((2, 96, 96, 3), np.uint8), np.array([1, 2]))

"""Training in the background keeps to few threads, so labelling stays fast beside it."""

from __future__ import annotations

import os

import torch

from faceloop.jobs import queue as jobs
from faceloop.learning.job import background_threads, calm_torch


def test_jobs_hold_torch_to_few_threads_and_give_them_back() -> None:
    assert {"train", "predict"} <= set(jobs.kinds())
    before = torch.get_num_threads()
    expected = background_threads()
    assert 1 <= expected <= 2
    with calm_torch():
        assert torch.get_num_threads() == expected
        assert os.environ["OMP_WAIT_POLICY"] == "PASSIVE"
    assert torch.get_num_threads() == before


def test_a_predict_job_without_a_model_fails_with_a_reason(workspace) -> None:
    job = jobs.run_job(workspace, jobs.create_job(workspace, "predict", {}))
    assert job.status == "failed"
    assert job.message.startswith("no model yet")

"""Imported once by the import's fork server: what is loaded here, every worker inherits.

Loading dlib's HOG detector and the embedder takes seconds per process; forked workers get
them for free. Torch is held to one thread first, so no thread pool exists at the fork.
"""

import torch

from faceloop.vision.dlib_backend import frontal_detector
from faceloop.vision.torch_embedder import shared_resnet

torch.set_num_threads(1)
frontal_detector()
shared_resnet()

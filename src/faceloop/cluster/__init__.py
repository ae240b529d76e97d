"""Grouping unlabelled faces so that a whole group is named in one action: numpy arrays and
plain dataclasses in and out, no database and no web.

- `group_faces` groups look-alike faces (never two faces of one photo), offers "probably
  <person>" for groups near labelled faces (`Anchors`) and keeps group ids across re-runs;
- `start_threshold` says where grouping starts before any label, from the workspace's own
  faces, and `learn_threshold` how far apart one person's faces may be, from the user's labels;
- `fit_projection` adapts distances to the user's population (`Projection`, plain arrays);
- `merge_suggestions`, `split_group` and `nearest_faces` ("more like this") edit groups.
"""

from faceloop.cluster.anchors import Anchors, Suggestion, suggest_people
from faceloop.cluster.edits import MergeSuggestion, merge_suggestions, split_group
from faceloop.cluster.grouping import Group, Grouping, group_faces
from faceloop.cluster.identity import carry_over_ids
from faceloop.cluster.neighbours import nearest_faces
from faceloop.cluster.projection import Projection, fit_projection
from faceloop.cluster.threshold import (
    DEFAULT_THRESHOLD,
    Threshold,
    learn_threshold,
    pair_precision,
    start_threshold,
)

__all__ = [
    "DEFAULT_THRESHOLD",
    "Anchors",
    "Group",
    "Grouping",
    "MergeSuggestion",
    "Projection",
    "Suggestion",
    "Threshold",
    "carry_over_ids",
    "fit_projection",
    "group_faces",
    "learn_threshold",
    "merge_suggestions",
    "nearest_faces",
    "pair_precision",
    "split_group",
    "start_threshold",
    "suggest_people",
]

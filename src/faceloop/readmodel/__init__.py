"""Everything derived from the database that the pages read in memory: faces with their labels,
people, the look-alike groups, the nearest labelled faces, the projected embeddings, the name
index. All of it hangs off one immutable `Snapshot` per version of the database
(`snapshot(ws)`), so a reader never locks and one version number covers all.
"""

from faceloop.readmodel.model import ReadModel, read_model, snapshot
from faceloop.readmodel.state import Snapshot

__all__ = ["ReadModel", "Snapshot", "read_model", "snapshot"]

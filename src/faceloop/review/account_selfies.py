"""Selfies from a person's own account: single-face photos that an account linked to her
(`collect/accounts.py`) posted, suggested as her on the confirm pages before anything else.

A selfie with one face from an idol's own account is almost surely her, which is why the
original workflow trusted who posted a photo. Such a face is still only a suggestion: a person
confirms it (a page of them is one Enter), unless `[collect] label_own_selfies` is on, which
labels them at collection time instead. Faces refused as that person, hidden or merged-away
people and faces that are no longer alone in their photo are left out; skipped faces come last.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import select

from faceloop.db.models import Account, ImageOrigin, Post
from faceloop.readmodel import snapshot
from faceloop.readmodel.state import UNLABELLED
from faceloop.review.look_alike_queue import skipped_faces
from faceloop.review.model_guesses import PAGE, Suggestion
from faceloop.workspace import Workspace

#: the score an account's selfie carries on the page (nothing measured it: a fixed "sure")
SCORE = 1.0


@dataclass(frozen=True)
class AccountPick:
    suggestions: list[Suggestion]
    #: face id -> where it came from, as the page captions it ("from @aya_idol@mstdn.jp")
    origins: dict[int, str]
    #: selfies waiting, of everyone
    pending: int
    #: the page's person's selfies waiting, this page included (one-person pages)
    person_pending: int | None


def account_selfies(
    ws: Workspace,
    *,
    person_id: int | None = None,
    exclude: Collection[int] = (),
    limit: int = PAGE,
    one_person: bool = True,
) -> AccountPick:
    """The next selfies from linked accounts: of `person_id`, or of the person with the most
    waiting (`one_person`), or of anyone (a mixed page), oldest posts first."""
    state = snapshot(ws)
    waiting = _waiting(ws, state)
    held = set(exclude)
    pending = len(waiting)
    if person_id is not None:
        root = state.root(person_id)
        waiting = [w for w in waiting if w[2] == root]
    elif one_person and waiting:
        most = Counter(w[2] for w in waiting).most_common(1)[0][0]
        waiting = [w for w in waiting if w[2] == most]
    person_pending = len(waiting) if (one_person or person_id is not None) else None
    skipped = skipped_faces(ws)
    waiting.sort(key=lambda w: (w[0] in skipped, w[0]))
    chosen = [w for w in waiting if w[0] not in held][:limit]
    return AccountPick(
        [Suggestion(face, image, person, SCORE) for face, image, person, _ in chosen],
        {face: origin for face, _, _, origin in chosen},
        pending,
        person_pending,
    )


def _waiting(ws: Workspace, state) -> list[tuple[int, int, int, str]]:
    """(face, image, person, origin) of each unlabelled single face posted by a linked account
    and not refused as its person. Every confirm page asks, so a workspace with no linked
    account (most of them, and every one before collection) costs one small query."""
    with ws.reader() as session:
        linked = session.scalars(select(Account.id).where(Account.person_id.is_not(None))).all()
        if not linked:
            return []
        rows = session.execute(
            select(ImageOrigin.image_id, Account.person_id, Account.handle)
            .join(Post, Post.id == ImageOrigin.post_id)
            .join(Account, Account.id == Post.account_id)
            .where(Post.account_id.in_(linked))
            .order_by(ImageOrigin.id)
        ).all()
    found: list[tuple[int, int, int, str]] = []
    seen: set[int] = set()
    for image_id, person_id, handle in rows:
        if image_id in seen:
            continue
        seen.add(image_id)
        positions = state.siblings(image_id)
        if len(positions) != 1:
            continue
        pos = int(positions[0])
        root = state.root(person_id)
        record = state.people.get(root)
        if record is None or record.hidden or state.verdict[pos] != UNLABELLED:
            continue
        face_id = int(state.face_ids[pos])
        if root in {state.root(p) for p in state.rejects.get(face_id, ())}:
            continue
        found.append((face_id, image_id, root, f"from {handle}"))
    return found

"""The accounts that posted collected photos, and who each one is.

Who posted a photo is the free label: a selfie posted by an idol's own account is almost surely
her. Every author account a source met is listed with what it brought (posts, photos, faces,
faces labelled); an account can be linked to a person ("her own account"), and faceloop offers
links itself: an unlinked account whose labelled single-face photos are nearly all one person
is suggested as hers, with the figures that make the case ("18 of 19 labelled faces from
@aya_idol are Aya").

Linking and unlinking are person events (`faceloop.labels.person_ops`), so they show in the
person's history and the activity log and undo like any other change to a person. Nothing here
touches the collector: a linked account's person becomes the hint (or label) of the photos it
brings from the next run on (`faceloop.collect.run`).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from faceloop.db.models import Account, Face, FaceLabel, Image, ImageOrigin, Person, Post, Source
from faceloop.jsontypes import UtcTime
from faceloop.labels import person_ops
from faceloop.labels.decisions import PERSON
from faceloop.labels.people import merge_roots, merged_person_ids, merges, root_person_id
from faceloop.workspace import Workspace

#: an account is suggested only once this many of its single-face photos are labelled: with
#: fewer, two or three selfies of a friend reposted by a fan account would pass for the fan's
#: own account
MIN_LABELLED = 5
#: ... and only when at least this share of those labelled faces are one person. An idol's own
#: account posts her selfies; a fan or hashtag account posts many people, and even a fan of one
#: idol posts a photo of another now and then, which keeps it under the bar
MIN_SHARE = 0.9


@dataclass(frozen=True)
class AccountInfo:
    """An author account as the accounts page shows it: where it posts, who it is said to be
    (merges resolved), and what it brought."""

    id: int
    source_id: int
    source: str
    kind: str
    handle: str
    display_name: str | None
    person_id: int | None
    person_name: str | None
    do_not_collect: bool
    posts: int
    photos: int
    faces: int
    #: faces of its photos that carry a person's label
    labelled: int
    last_posted_at: UtcTime | None


@dataclass(frozen=True)
class AccountsPage:
    total: int
    accounts: list[AccountInfo]


@dataclass(frozen=True)
class LinkSuggestion:
    """An unlinked account that looks like the person's own, and the figures why."""

    account_id: int
    handle: str
    source: str
    person_id: int
    person_name: str
    #: labelled single-face photos of the account that are the person
    agreeing: int
    #: labelled single-face photos of the account
    labelled: int
    text: str


@dataclass(frozen=True)
class AccountChange:
    """The person event that recorded a link or unlink (undo it with
    /person-events/{id}/undo) and the account as it is now."""

    event_id: int
    account: AccountInfo


def list_accounts(
    ws: Workspace,
    *,
    person_id: int | None = None,
    offset: int = 0,
    limit: int = 200,
) -> AccountsPage:
    """Accounts with the most photos first; with `person_id`, those linked to that person
    (or to anyone merged into her)."""
    with ws.reader() as session:
        query = select(Account.id)
        if person_id is not None:
            members = merged_person_ids(session, root_person_id(session, person_id))
            query = query.where(Account.person_id.in_(members))
        ids = list(session.scalars(query))
        infos = _infos(session, ids)
    infos.sort(key=lambda a: (-a.photos, -a.posts, a.handle.lower(), a.id))
    return AccountsPage(len(infos), infos[offset : offset + limit])


def account_info(ws: Workspace, account_id: int) -> AccountInfo:
    with ws.reader() as session:
        found = _infos(session, [account_id])
    if not found:
        raise LookupError(f"no account {account_id}")
    return found[0]


def suggest_links(ws: Workspace) -> list[LinkSuggestion]:
    """Unlinked accounts (not marked do-not-collect) whose labelled single-face photos are
    mostly one person: at least MIN_LABELLED of them, at least MIN_SHARE the same person.
    A single-face photo is the strong evidence: in a group photo the poster may be anyone in
    it, or behind the camera. The strongest cases come first."""
    with ws.reader() as session:
        single = (
            select(Face.image_id)
            .group_by(Face.image_id)
            .having(func.count(Face.id) == 1)
            .subquery()
        )
        rows = session.execute(
            select(Account.id, Face.id, FaceLabel.person_id)
            .join(Post, Post.account_id == Account.id)
            .join(ImageOrigin, ImageOrigin.post_id == Post.id)
            .join(single, single.c.image_id == ImageOrigin.image_id)
            .join(Face, Face.image_id == ImageOrigin.image_id)
            .join(FaceLabel, FaceLabel.face_id == Face.id)
            .where(
                Account.person_id.is_(None),
                Account.do_not_collect.is_(False),
                FaceLabel.verdict == PERSON,
                FaceLabel.person_id.is_not(None),
            )
            .distinct()
        ).all()
        roots = merge_roots(merges(session))
        by_account: dict[int, Counter[int]] = {}
        for account_id, _face_id, label_person in rows:
            person = roots.get(label_person, label_person)
            by_account.setdefault(account_id, Counter())[person] += 1
        found = []
        for account_id, counts in by_account.items():
            labelled = sum(counts.values())
            person_id, agreeing = counts.most_common(1)[0]
            # (a hair under the share: 9 of 10 is 90% however floats round 0.9 * 10)
            if labelled < MIN_LABELLED or agreeing < MIN_SHARE * labelled - 1e-9:
                continue
            account = session.get(Account, account_id)
            source = session.get(Source, account.source_id)
            person = session.get(Person, person_id)
            found.append(
                LinkSuggestion(
                    account_id=account_id,
                    handle=account.handle,
                    source=source.name if source is not None else "",
                    person_id=person_id,
                    person_name=person.name,
                    agreeing=agreeing,
                    labelled=labelled,
                    text=(
                        f"{agreeing} of {labelled} labelled faces from {account.handle} "
                        f"are {person.name}"
                    ),
                )
            )
    found.sort(key=lambda s: (-s.agreeing, s.labelled - s.agreeing, s.account_id))
    return found


def link_account(
    ws: Workspace, account_id: int, person_id: int, user_id: int | None
) -> AccountChange:
    """Say the account is the person's own (PersonOpError if it already is; LookupError for an
    unknown account or person). Its photos, those collected already and those to come, carry
    her as their hint where they have none."""
    with ws.transaction() as session:
        event_id = person_ops.link_account(session, account_id, person_id, user_id)
        photos = (
            select(ImageOrigin.image_id)
            .join(Post, Post.id == ImageOrigin.post_id)
            .where(Post.account_id == account_id)
        )
        session.execute(
            update(Image)
            .where(Image.id.in_(photos), Image.hint_person_id.is_(None))
            .values(hint_person_id=person_id)
        )
    return AccountChange(event_id, account_info(ws, account_id))


def unlink_account(ws: Workspace, account_id: int, user_id: int | None) -> AccountChange:
    """The account is no longer said to be anyone's (PersonOpError if it was not linked);
    undoing the link event does the same."""
    with ws.transaction() as session:
        event_id = person_ops.unlink_account(session, account_id, user_id)
    return AccountChange(event_id, account_info(ws, account_id))


def set_do_not_collect(ws: Workspace, account_id: int, flag: bool) -> AccountInfo:
    """Skip (or stop skipping) the account's posts at fetch time, before any photo is stored.
    What it brought before stays."""
    with ws.transaction() as session:
        changed = session.execute(
            update(Account).where(Account.id == account_id).values(do_not_collect=flag)
        ).rowcount
    if not changed:
        raise LookupError(f"no account {account_id}")
    return account_info(ws, account_id)


def _infos(session: Session, ids: list[int]) -> list[AccountInfo]:
    """Each account with its counts, a query per count for all of them at once."""
    if not ids:
        return []
    accounts = session.execute(
        select(Account, Source.name, Source.kind)
        .join(Source, Source.id == Account.source_id)
        .where(Account.id.in_(ids))
    ).all()
    posts = dict(
        session.execute(
            select(Post.account_id, func.count(Post.id))
            .where(Post.account_id.in_(ids))
            .group_by(Post.account_id)
        ).all()
    )
    last = dict(
        session.execute(
            select(Post.account_id, func.max(Post.posted_at))
            .where(Post.account_id.in_(ids))
            .group_by(Post.account_id)
        ).all()
    )
    images = (
        select(Post.account_id.label("account_id"), ImageOrigin.image_id.label("image_id"))
        .join(ImageOrigin, ImageOrigin.post_id == Post.id)
        .where(Post.account_id.in_(ids))
        .distinct()
        .subquery()
    )
    photos = dict(
        session.execute(
            select(images.c.account_id, func.count(images.c.image_id)).group_by(images.c.account_id)
        ).all()
    )
    faces = dict(
        session.execute(
            select(images.c.account_id, func.count(Face.id))
            .join(Face, Face.image_id == images.c.image_id)
            .group_by(images.c.account_id)
        ).all()
    )
    labelled = dict(
        session.execute(
            select(images.c.account_id, func.count(Face.id))
            .join(Face, Face.image_id == images.c.image_id)
            .join(FaceLabel, FaceLabel.face_id == Face.id)
            .where(FaceLabel.verdict == PERSON)
            .group_by(images.c.account_id)
        ).all()
    )
    roots = merge_roots(merges(session))
    names = dict(session.execute(select(Person.id, Person.name)).all())
    found = []
    for account, source_name, kind in accounts:
        person_id = roots.get(account.person_id, account.person_id) if account.person_id else None
        found.append(
            AccountInfo(
                id=account.id,
                source_id=account.source_id,
                source=source_name,
                kind=kind,
                handle=account.handle,
                display_name=account.display_name,
                person_id=person_id,
                person_name=names.get(person_id) if person_id else None,
                do_not_collect=account.do_not_collect,
                posts=posts.get(account.id, 0),
                photos=photos.get(account.id, 0),
                faces=faces.get(account.id, 0),
                labelled=labelled.get(account.id, 0),
                last_posted_at=last.get(account.id),
            )
        )
    order = {account_id: n for n, account_id in enumerate(ids)}
    found.sort(key=lambda a: order[a.id])
    return found

"""The accounts that posted collected photos: the list with what each brought and who it is,
the links faceloop suggests, linking and unlinking (person events, undone with
/person-events/{id}/undo) and the do-not-collect mark."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from faceloop.collect.accounts import (
    AccountChange,
    AccountInfo,
    AccountsPage,
    LinkSuggestion,
    link_account,
    list_accounts,
    set_do_not_collect,
    suggest_links,
    unlink_account,
)
from faceloop.web.deps import WS, User
from faceloop.web.schemas import FlagBody, IdPath, IdQuery, LinkBody

router = APIRouter(tags=["accounts"])


@router.get("/accounts", response_model=AccountsPage)
def accounts(
    ws: WS,
    person_id: IdQuery = None,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> AccountsPage:
    """Accounts with the most photos first; `person_id` keeps those linked to that person."""
    return list_accounts(ws, person_id=person_id, offset=offset, limit=limit)


@router.get("/accounts/suggestions", response_model=list[LinkSuggestion])
def suggestions(ws: WS) -> list[LinkSuggestion]:
    """Unlinked accounts whose labelled single-face photos are nearly all one person."""
    return suggest_links(ws)


@router.post("/accounts/{account_id}/link", response_model=AccountChange)
def link(ws: WS, user: User, account_id: IdPath, body: LinkBody) -> AccountChange:
    """Say the account is the person's own; its single-face photos then suggest her."""
    return link_account(ws, account_id, body.person_id, user)


@router.post("/accounts/{account_id}/unlink", response_model=AccountChange)
def unlink(ws: WS, user: User, account_id: IdPath) -> AccountChange:
    return unlink_account(ws, account_id, user)


@router.post("/accounts/{account_id}/do-not-collect", response_model=AccountInfo)
def do_not_collect(ws: WS, account_id: IdPath, body: FlagBody) -> AccountInfo:
    """Skip the account's posts before any photo is fetched (`value` false collects again)."""
    return set_do_not_collect(ws, account_id, body.value)

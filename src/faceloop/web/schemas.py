"""Request bodies of the JSON API. Responses are the library's own dataclasses."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Path, Query
from pydantic import BaseModel, ConfigDict, Field, model_validator

#: the largest id SQL integers hold: larger ones are refused as invalid, not looked up
ID_MAX = 2**63 - 1
Id = Annotated[int, Field(ge=1, le=ID_MAX)]
IdPath = Annotated[int, Path(ge=1, le=ID_MAX)]
IdQuery = Annotated[int | None, Query(ge=1, le=ID_MAX)]

Verdict = Literal["person", "not_face", "unknown", "skip", "reject"]
Origin = Literal["manual", "suggestion", "bulk", "group"]
Name = Field(min_length=1, max_length=200)


class Body(BaseModel):
    """A JSON request body: unknown keys are refused, and so are values of the wrong JSON type
    (strict): `{"threshold": true}` was read as 1.0 and `{"hidden": "no"}` as false. A whole
    number is still a valid float. A field that must come from a string (a date) opts out
    with `Field(strict=False)`: the body is validated as parsed JSON, where a date is text."""

    model_config = ConfigDict(extra="forbid", strict=True)


class LabelBody(Body):
    """One answer about one face. A person is named by `person_id` or by `name` (an existing
    name or alias picks that person; a new name creates one)."""

    verdict: Verdict
    person_id: int | None = Field(default=None, ge=1, le=ID_MAX)
    name: str | None = Field(default=None, min_length=1, max_length=200)
    origin: Origin = "manual"
    #: label even though the person is already on another face of the photo
    confirm: bool = False
    #: create a person called `name` even though someone has that name in another spelling
    new_person: bool = False


class BulkLabelBody(LabelBody):
    face_ids: list[Id] = Field(min_length=1, max_length=1000)


class NameBody(Body):
    name: str = Name


class NewPersonBody(NameBody):
    #: create the person even though someone has that name in another spelling
    new_person: bool = False


class AliasBody(Body):
    alias: str = Name


class TagBody(Body):
    tag: str = Name


class HiddenBody(Body):
    hidden: bool


class MergeBody(Body):
    into_id: int = Field(ge=1, le=ID_MAX)


class CoverBody(Body):
    face_id: int | None = Field(default=None, ge=1, le=ID_MAX)


class BoxBody(Body):
    """A face's box in the photo's own pixels."""

    left: int = Field(ge=0, le=100_000)
    top: int = Field(ge=0, le=100_000)
    right: int = Field(ge=1, le=100_000)
    bottom: int = Field(ge=1, le=100_000)


class ImportBody(Body):
    #: each folder's name is the person in its photos (photos with one face get the label)
    by_folder: bool = False


class LoginBody(Body):
    password: str = Field(min_length=1, max_length=1000)


FaceIds = Annotated[list[Id], Field(max_length=1000)]


class GroupLabelBody(Body):
    """Name a group's faces but the excluded ones: by `person_id`, or by `name` (an existing
    name or alias picks that person; a new name creates one). `face_ids`, when given, limits the
    action to the faces the page showed, so faces a re-run added meanwhile are not named
    unseen."""

    person_id: int | None = Field(default=None, ge=1, le=ID_MAX)
    name: str | None = Field(default=None, min_length=1, max_length=200)
    exclude_face_ids: FaceIds = []
    face_ids: FaceIds | None = None
    #: label even though the person is already on another face of one of the photos
    confirm: bool = False
    #: create a person called `name` even though someone has that name in another spelling
    new_person: bool = False

    @model_validator(mode="after")
    def _one_person(self) -> GroupLabelBody:
        if self.person_id is None and not (self.name and self.name.strip()):
            raise ValueError("name the person: give person_id or name")
        if self.person_id is not None and self.name:
            raise ValueError("give person_id or name, not both")
        return self


class GroupUnknownBody(Body):
    exclude_face_ids: FaceIds = []
    face_ids: FaceIds | None = None


class PassersByBody(Body):
    """The faces an "unknown person" page showed, and those deselected on it."""

    face_ids: Annotated[list[Id], Field(min_length=1, max_length=1000)]
    exclude_face_ids: FaceIds = []


class GroupMergeBody(Body):
    other_id: int = Field(ge=1, le=ID_MAX)


class ClusterBody(Body):
    #: group at this distance instead of the one learned from the labels (dlib distances)
    threshold: float | None = Field(default=None, gt=0, lt=2)


class SourceBody(Body):
    """A new source, as `faceloop source add` takes it: the kind, its target (a folder, a file,
    a feed, an instance or an account) and the options the kind needs. The kind checks them and
    says in words what is missing or wrong (422)."""

    kind: str = Field(min_length=1, max_length=30)
    target: str = Field(default="", max_length=2000)
    tag: str | None = Field(default=None, max_length=200)
    account: str | None = Field(default=None, max_length=200)
    query: str | None = Field(default=None, max_length=1000)
    login: str | None = Field(default=None, max_length=200)
    #: minutes between runs (default: the workspace's [collect] every_minutes)
    every_minutes: int | None = Field(default=None, ge=1, le=7 * 24 * 60)
    #: posts a first run reads back
    backfill: int | None = Field(default=None, ge=1, le=100_000)
    #: X: reads allowed a month
    monthly_reads: int | None = Field(default=None, ge=1, le=1_000_000_000)


class LinkBody(Body):
    person_id: int = Field(ge=1, le=ID_MAX)


class FlagBody(Body):
    value: bool

"""Every choice a caller passes as a word, as one `StrEnum` each, in one place.

The values are the strings the database, the URLs, the CLI flags and the files already hold, so
a member compares equal to its word and can be stored as it is. `choose` turns a word from a
user into a member or says clearly which words would do, so each option is checked once, where
it enters the library, rather than at each door (CLI, web, library) with its own message.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TypeVar

E = TypeVar("E", bound=StrEnum)


class OptionError(ValueError):
    """A word that is not one of an option's choices; `name` is the option as the library
    calls it, so a door can say it its own way (`--split-rule` on the command line)."""

    def __init__(self, name: str, value: object, choices: tuple[str, ...]) -> None:
        self.name = name
        self.value = value
        self.choices = choices
        super().__init__(f"{name} must be one of {', '.join(choices)}, not {value!r}")

    def flag_message(self) -> str:
        """The message with the option written as a command-line flag."""
        return "--" + self.name.replace("_", "-") + str(self)[len(self.name) :]


def choose(kind: type[E], value: object, name: str) -> E:
    """`value` as a member of `kind`; an OptionError naming the choices otherwise."""
    try:
        return kind(value)
    except ValueError:
        raise OptionError(name, value, tuple(member.value for member in kind)) from None


# ---------------------------------------------------------------- export


class ExportFormat(StrEnum):
    TFRECORD = "tfrecord"
    IMAGEFOLDER = "imagefolder"
    PARQUET = "parquet"
    CSV = "csv"


class ExportCrop(StrEnum):
    """What each exported face's image is: a 112 px face crop, a 150 px aligned chip (what
    dlib embeds), or the whole photo."""

    CROP_112 = "112"
    CHIP_150 = "150"
    PHOTO = "photo"


class SplitRule(StrEnum):
    """exact: every person split to within one face; hash: no face ever changes split."""

    EXACT = "exact"
    HASH = "hash"


class ImportImages(StrEnum):
    """What the images of a dataset being imported are: face crops, whole photos, or
    whichever each image looks like."""

    AUTO = "auto"
    CROP = "crop"
    PHOTO = "photo"


# ---------------------------------------------------------------- decisions


class FaceVerdict(StrEnum):
    """What a decision says of a face (`undo` is a decision about another decision)."""

    PERSON = "person"
    NOT_FACE = "not_face"
    UNKNOWN = "unknown"
    SKIP = "skip"
    REJECT = "reject"


#: the verdict of a decision that takes back another one (named in its `undoes_id`)
UNDO = "undo"


class DecisionOrigin(StrEnum):
    """Which page or step a decision was made on, for the activity log and the exports."""

    MANUAL = "manual"
    SUGGESTION = "suggestion"
    BULK = "bulk"
    GROUP = "group"
    IMPORT = "import"


class ActivityKind(StrEnum):
    DECISION = "decision"
    PERSON = "person"


# ---------------------------------------------------------------- review queues


class GuessOrder(StrEnum):
    """The model-guess queue's order: the surest guesses first, or the least sure."""

    CONFIDENT = "confident"
    UNCERTAIN = "uncertain"


class LookAlikeOrder(StrEnum):
    """The look-alike queue's order: the nearest faces first, or the largest person first."""

    CONFIDENT = "confident"
    LARGEST = "largest"


class ConfirmMode(StrEnum):
    """The confirm page: one face at a time, a page of one person, or a page of many."""

    ONE = "one"
    PAGE = "page"
    MIXED = "mixed"


class ConfirmSource(StrEnum):
    """Where the faces to confirm come from; auto is the selfies of linked accounts, then the
    model, else the nearest labelled."""

    AUTO = "auto"
    MODEL = "model"
    NEAREST = "nearest"
    ACCOUNT = "account"


class Reach(StrEnum):
    """How near a labelled face must be for a look-alike: nearer than the learned threshold,
    at it, or farther."""

    SURE = "sure"
    CLOSE = "close"
    WIDE = "wide"


class ConfirmAnswer(StrEnum):
    YES = "yes"
    NO = "no"
    SKIP = "skip"
    CORRECT = "correct"


class PeopleSort(StrEnum):
    FACES = "faces"
    NAME = "name"
    RECENT = "recent"


# ---------------------------------------------------------------- jobs


class JobState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"

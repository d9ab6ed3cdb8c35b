"""Model names: their shape, Unicode normalisation, and refusal of look-alikes of existing names.

A name is stored in NFKC form. A name mixing letters of several scripts (``сredit-gbm`` with a
Cyrillic ``с``) is refused, and so is one whose look-alike skeleton equals an existing model's
name: in a governance inventory two entries that read the same are one entry too many.
"""

from __future__ import annotations

import unicodedata

import sqlalchemy as sa
from sqlmodel import Session, col, select

from core.tables import ModelEntry

__all__ = ["LOOKALIKE", "MIXED_SCRIPTS", "NAME_SHAPE", "check_name", "skeleton"]

NAME_SHAPE = "The model name {name!r} is not usable; use 2–120 characters: letters, digits, spaces, dots, dashes or underscores."
MIXED_SCRIPTS = "The model name {name!r} mixes letters of different scripts ({scripts}); write it in one script."
LOOKALIKE = "The model name {name!r} looks like the existing model {existing!r} but differs in {chars}; use {existing!r} to add a version to it, or choose a clearly different name."

# Letters of other scripts that render like Latin ones (from Unicode's confusables.txt); full-width
# and other compatibility forms are folded by NFKC before this table is used.
_CONFUSABLES = str.maketrans(
    {
        **dict(
            zip("асеһіјӏоԛрѕԁԝхуАВЕЅІЈКМНОРСТХУ", "acehijloqpsdwxyABESIJKMHOPCTXY", strict=True)
        ),
        **dict(zip("αοριυνΑΒΕΖΗΙΚΜΝΟΡΤΥΧ", "aopiuvABEZHIKMNOPTYX", strict=True)),
        "ս": "u",  # Armenian
    }
)
# Scripts that legitimately appear together in one name (Japanese, Korean and Chinese usage).
_COMPATIBLE = (
    frozenset({"LATIN", "CJK", "HIRAGANA", "KATAKANA"}),
    frozenset({"LATIN", "CJK", "HANGUL"}),
    frozenset({"LATIN", "CJK", "BOPOMOFO"}),
)


def skeleton(text: str) -> str:
    """The name as it looks: NFKC, then other scripts' look-alike letters as their Latin twins."""
    return unicodedata.normalize("NFKC", text).translate(_CONFUSABLES)


def _script(char: str) -> str | None:
    if not char.isalpha():
        return None
    return unicodedata.name(char, "UNKNOWN").split(" ", 1)[0]


def _mixed(name: str) -> list[str]:
    scripts = sorted({s for c in name if (s := _script(c))})
    if len(scripts) < 2 or any(set(scripts) <= allowed for allowed in _COMPATIBLE):
        return []
    return scripts


def _differences(name: str, existing: str) -> str:
    odd = [
        f"{a!r} (U+{ord(a):04X} {unicodedata.name(a, '?')})"
        for a, b in zip(name, existing, strict=False)
        if a != b
    ]
    return ("the character " if len(odd) == 1 else "the characters ") + ", ".join(odd)


def check_name(session: Session, name: str, problems: list[str]) -> str:
    """The name to store (stripped, NFKC); appends a sentence to ``problems`` if it is refused.

    The name given exactly as an existing model's name is that model, not a clash.
    """
    given = name.strip()
    normal = unicodedata.normalize("NFKC", given)
    if not (2 <= len(normal) <= 120) or not all(c.isalnum() or c in " ._-" for c in normal):
        problems.append(NAME_SHAPE.format(name=given))
        return normal
    look = skeleton(normal)
    candidates = session.exec(
        select(ModelEntry.name).where(sa.func.length(col(ModelEntry.name)) == len(normal))
    ).all()
    for existing in candidates:
        if existing != given and skeleton(existing) == look:
            problems.append(
                LOOKALIKE.format(name=given, existing=existing, chars=_differences(given, existing))
            )
            return normal
    if scripts := _mixed(normal):
        problems.append(MIXED_SCRIPTS.format(name=given, scripts=", ".join(scripts)))
    return normal

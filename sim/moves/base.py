"""What every policy move is: a typed, validated, registered class with one effect.

A move is plain data (its parameters, checked by pydantic so that a bad file never reaches the
model) plus :meth:`Move.apply`, which sets the rules it puts in force in the month's
:class:`~sim.world.policy.PolicyState`. Adding a move is one class with ``@register`` - nothing
else in the model changes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Annotated, ClassVar

from pydantic import AfterValidator, BaseModel, ConfigDict

from sim.world.actors import BUYER_CLASSES, ROUTES, TRANSIT_COUNTRIES
from sim.world.policy import PolicyState

#: name -> move class; filled by :func:`register`.
MOVES: dict[str, type[Move]] = {}


def register[M: type[Move]](cls: M) -> M:
    """Class decorator: make a move available to scenario files under ``cls.name``."""
    MOVES[cls.name] = cls
    return cls


def _fraction(value: float) -> float:
    if math.isnan(value) or not 0.0 <= value <= 1.0:
        raise ValueError(f"must be between 0 and 1 (got {value})")
    return value


def _non_negative(value: float) -> float:
    if math.isnan(value) or value < 0:
        raise ValueError(f"must be 0 or more (got {value})")
    return value


def _known_chips(chips: tuple[str, ...]) -> tuple[str, ...]:
    from sim.world.catalogue import CHIPS  # local: the catalogue loads a data file

    unknown = [c for c in chips if c not in CHIPS]
    if unknown:
        raise ValueError(f"unknown chip {unknown[0]!r}; known chips: {', '.join(CHIPS)}")
    if not chips:
        raise ValueError("must name at least one chip")
    return chips


def _one_of(allowed: tuple[str, ...], what: str):  # noqa: ANN202
    def check(values: tuple[str, ...]) -> tuple[str, ...]:
        for value in values:
            if value not in allowed:
                raise ValueError(f"unknown {what} {value!r}; known: {', '.join(allowed)}")
        return values

    return check


def _one(allowed: tuple[str, ...], what: str):  # noqa: ANN202
    def check(value: str) -> str:
        if value not in allowed:
            raise ValueError(f"unknown {what} {value!r}; known: {', '.join(allowed)}")
        return value

    return check


Fraction = Annotated[float, AfterValidator(_fraction)]
NonNegative = Annotated[float, AfterValidator(_non_negative)]
Chips = Annotated[tuple[str, ...], AfterValidator(_known_chips)]
Routes = Annotated[tuple[str, ...], AfterValidator(_one_of(ROUTES, "route"))]
BuyerClasses = Annotated[tuple[str, ...], AfterValidator(_one_of(BUYER_CLASSES, "buyer class"))]
TransitCountry = Annotated[str, AfterValidator(_one(TRANSIT_COUNTRIES, "country"))]


@dataclass(frozen=True)
class Enactment:
    """Where a move is applied: the month its event took effect, and the event's key.

    ``since`` lets a move tell a rule that has just come in from one long in force (an import
    block's customs check applies to orders placed before it); ``key`` names the event, so that
    state kept about a rule (approvals counted against a licence cap) follows the rule itself.
    """

    since: int
    key: str


class Move(BaseModel):
    """Base class of policy moves. Subclasses set ``name`` and ``record`` and implement apply."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    #: the name used in scenario files, e.g. ``us.licence_requirement``.
    name: ClassVar[str]
    #: FACTS ids of the real moves this class models.
    record: ClassVar[tuple[str, ...]] = ()

    def apply(self, policy: PolicyState, enactment: Enactment) -> None:
        """Set the rules this move puts in force.

        The month's rules are rebuilt from the moves in force, in date order, so a later move
        on the same chip replaces an earlier one and a suspended move is simply not applied.
        """
        raise NotImplementedError

    def restricted_chips(self) -> frozenset[str]:
        """Chips this move makes harder to buy legally; buyers stockpile them ahead of it."""
        return frozenset()

    def tightens(self, chip: str, policy: PolicyState) -> bool:
        """Whether this move, coming, is harder on ``chip`` than the rules now in force.

        Buyers stockpile a restricted chip only ahead of a move that tightens: a rule that
        replaces a stricter one eases, however it is worded.
        """
        return True

    @classmethod
    def parameters(cls) -> dict[str, str]:
        """Parameter name -> one-line description (for ``chipsim list moves`` and the docs)."""
        return {
            name: (f.description or "") for name, f in cls.model_fields.items()
        }

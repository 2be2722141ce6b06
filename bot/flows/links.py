"""Where a step goes next: the one model of `next:` that everything walks.

A step's `next:` is written in three ways (nothing, a step id, a list of `if`/`else`
branches); `links_of` turns each into the same list of links, with what is implicit made
explicit: no `next:` goes to the step below (or ends the flow), and a list of `if:` without an
`else:` falls through to the step below when no condition holds. The executor takes the first
link that holds, the validator follows all of them (unknown targets, unreachable steps), the
diagram draws them and the coverage report counts which were taken. Like Rasa CALM's
`flow_step_links`, but with the fall-through spelled out so that no walker re-derives it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bot.flows.models import END, ElseBranch, IfBranch, LinkStep, Step


@dataclass(frozen=True, slots=True)
class StaticLink:
    """Always taken: `next: <step>`, or (implicit) the step below."""

    target: str
    implicit: bool = False  # no `next:` was written

    @property
    def label(self) -> str:
        return "next" if self.implicit else f"next: {self.target}"


@dataclass(frozen=True, slots=True)
class IfLink:
    """Taken when `condition` holds (and no earlier branch did)."""

    condition: str
    target: str

    @property
    def label(self) -> str:
        return f"if {self.condition}"


@dataclass(frozen=True, slots=True)
class ElseLink:
    """Taken when no `if:` before it held: `else:`, or (implicit) the step below."""

    target: str
    implicit: bool = False

    @property
    def label(self) -> str:
        return "otherwise (the step below)" if self.implicit else "else"


Link = StaticLink | IfLink | ElseLink


def links_of(step: Step, following: str) -> tuple[Link, ...]:
    """The links of `step`; `following` is the id of the step below it, or END.

    A `link:` step without `next:` has none: the flow hands over and never comes back here.
    """
    nxt = step.next
    if nxt is None:
        return () if isinstance(step, LinkStep) else (StaticLink(following, implicit=True),)
    if isinstance(nxt, str):
        return (StaticLink(nxt),)
    links: list[Link] = []
    for branch in nxt:
        if isinstance(branch, IfBranch):
            links.append(IfLink(branch.if_, branch.then))
        elif isinstance(branch, ElseBranch):
            links.append(ElseLink(branch.else_))
            break  # nothing after an else is ever taken (the validator reports it)
    if not links or not isinstance(links[-1], ElseLink):
        links.append(ElseLink(following, implicit=True))
    return tuple(links)


def choose(links: tuple[Link, ...], holds: Callable[[str], bool]) -> tuple[int, Link] | None:
    """The first link that is taken, with its position; None when there is none (END)."""
    for index, link in enumerate(links):
        if not isinstance(link, IfLink) or holds(link.condition):
            return index, link
    return None


def targets(links: tuple[Link, ...]) -> tuple[str, ...]:
    return tuple(link.target for link in links)


__all__ = ["END", "ElseLink", "IfLink", "Link", "StaticLink", "choose", "links_of", "targets"]

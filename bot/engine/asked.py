"""Questions known by their own words (`asked:` of a short answer in the flows).

"how much money i get from uwv?" is a question about the WW whatever the model reads (it reads
"how much" as the cost of the service, and answered "It is free": person trial, 6 Dec), and
"En die 5000 euro, krijg ik die dan zeker?" one about the budget's certainty. A message that
looks like a question and says a word or phrase of every group of a short answer's `asked:`
gets that answer; the answer with the most groups said wins ("5000" and "zeker" beat "5000").
The words live with the answers in the flows, where admins edit them.
"""

from __future__ import annotations

from bot.engine.repair import fold, looks_like_question
from bot.engine.words import word_set
from bot.flows.flowset import CompiledFlow, FlowSet

# A question word early in a message asks too, without a question mark: "uwv how much per
# month", "hoelang duurt de ww", "ik wil weten hoeveel ww ik krijg"; so does a verb first
# ("does the coach speak english", "kan de coach ook engels").
_ASKING = word_set("hoe hoelang hoeveel wanneer waarom wat how when what why")
_ASKING_FIRST = word_set("kan kun kunt spreek spreekt praat is zijn krijg does do will can are")

# The folded word groups of a flow set's answers, built once per flow set (flows reload as a
# new FlowSet; the old entry is dropped then).
Groups = tuple[tuple[str, ...], ...]
Answers = tuple[tuple[CompiledFlow, Groups, tuple[str, ...]], ...]
_groups: dict[int, tuple[FlowSet, Answers]] = {}


def _padded(words: list[str]) -> tuple[str, ...]:
    return tuple(f" {w} " for w in map(fold, words) if w)


def _answers(flows: FlowSet) -> Answers:
    cached = _groups.get(id(flows))
    if cached is not None and cached[0] is flows:
        return cached[1]
    built = tuple(
        (cf, tuple(_padded(group) for group in cf.flow.asked), _padded(cf.flow.asked_not))
        for cf in flows.flows.values()
        if cf.flow.asked and cf.flow.digression
    )
    _groups.clear()
    _groups[id(flows)] = (flows, built)
    return built


def asked_about(flows: FlowSet, text: str) -> CompiledFlow | None:
    """The short answer a question names by its words, or None (also for a statement)."""
    folded = fold(text)
    words = folded.split()
    asking = any(w in _ASKING for w in words[:4]) or (words[:1] and words[0] in _ASKING_FIRST)
    if not (asking or looks_like_question(text)):
        return None
    padded = f" {folded} "
    best: CompiledFlow | None = None
    most = 0
    for cf, groups, unless in _answers(flows):
        if len(groups) <= most or any(w in padded for w in unless):
            continue
        if all(any(w in padded for w in group) for group in groups):
            best, most = cf, len(groups)
    return best

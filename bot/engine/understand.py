"""The understanding step: one message (with its NLU result and the pending question) becomes
commands. Pure: no I/O, no state changes; `processor.py` applies the commands.

The rules, for a message that arrives while a question is pending:

1. A correction names a field or carries a new value for one ("nee, ik woon in Utrecht",
   "mijn nummer is eigenlijk ..."): the value is changed, the question comes back.
2. What looks like a typed value (digits at a phone question, an @ at an e-mail question) is an
   answer, right or wrong, and never read as an intent: "06-1234" gets "too short". Digits
   without letters at any other question are not an intent either: "I did not understand".
3. A question ("wat kost het?"), a request for a person, chatter or another topic is handled
   as such and never stored as an answer, unless it is a valid answer to a closed question.
4. Otherwise it is the answer; an implausible one ("ja" as a name) is checked back once.

Whatever else the message mentions (a town, a contract type, a name) fills those slots too.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from bot.engine.asked import asked_about
from bot.engine.commands import (
    Acknowledge,
    AnswerQuestion,
    Cancel,
    CannotHandle,
    Clarify,
    Command,
    ConfirmValue,
    CorrectSlots,
    HumanHandoff,
    InvalidAnswer,
    Narrow,
    NluDown,
    NumberTyped,
    OffTopic,
    PickLanguage,
    Reask,
    ResolveDoubt,
    Retry,
    SetLanguage,
    SetSlots,
    ShowAgain,
    ShowMenu,
    StaleButton,
    StartCorrection,
    StartFlow,
    UpdateCase,
    WayForward,
    Welcome,
)
from bot.engine.dialogue import (
    P_AGAIN,
    P_CMD,
    P_DOUBT,
    P_FIX,
    P_FLOW,
    P_INTENT,
    P_LANG,
    P_VALUE,
)
from bot.engine.executor import in_intake, pending_step
from bot.engine.extract import Found, find_values
from bot.engine.language import detect_language, is_unreadable
from bot.engine.messages import Inbound
from bot.engine.numbers import option_number
from bot.engine.options import about_the_question, other_option, said_options, time_option
from bot.engine.repair import (
    contains_keyword,
    correction_target,
    fold,
    has_correction_cue,
    is_cancel,
    is_negated,
    looks_like_question,
    says_home,
    split_question,
)
from bot.engine.slot_values import (
    NO_WORDS,
    PARTLY,
    YES_WORDS,
    Parsed,
    clean_text,
    parse_value,
)
from bot.engine.state import ConversationState, JsonScalar
from bot.engine.words import word_set
from bot.engine.yes_no import Reading, read_yes_no
from bot.flows.flowset import CompiledFlow, FlowSet
from bot.flows.models import CollectStep, SlotDef, SlotType
from bot.nlu.client import NluResult

_LANGUAGE_COMMANDS = {"/taal", "/language", "/lang"}
_HUMAN_COMMANDS = {"/human", "/coach", "/mens"}
# Slots whose valid input (digits, an @) cannot be a question or a topic.
_TYPED = (
    SlotType.PHONE,
    SlotType.EMAIL,
    SlotType.POSTCODE,
    SlotType.DATE,
    SlotType.NUMBER,
    SlotType.GEMEENTE,
)
_CLOSED = (SlotType.CHOICE, SlotType.YES_NO)
# Below this the model guesses nothing (config.yml, FallbackClassifier threshold).
_GUESS_FLOOR = 0.3
# A new value for these replaces the old one without a word like "eigenlijk": nobody gives a
# second phone number by accident.
_SELF_EVIDENT = (SlotType.PHONE, SlotType.EMAIL, SlotType.POSTCODE)
_CONTACT = (SlotType.PHONE, SlotType.EMAIL)
_ADDRESS = re.compile(r"\S+@\S+")
_HAND_OVER = re.compile(r"\b(?:geef (?:\w+ )?door|doorgeven|hand (?:it )?over|pass (?:it )?on)\b")
_SKIP = re.compile(r"\b(?:overslaan|sla (?:\w+ )?over|skip|volgende vraag|next question)\b")
# "ja graag, nog een keer", "lees maar nog eens", "again please": to "Wil je het nog een keer
# lezen?" (the already-told line), the same as pressing its button.
_AGAIN = re.compile(r"\b(?:nog (?:een )?keer|nog eens|opnieuw|(?:read it )?again|once more)\b")


def understand(
    flows: FlowSet,
    state: ConversationState,
    inbound: Inbound,
    nlu: NluResult | None,
    *,
    numbered: bool = False,
) -> list[Command]:
    """`numbered`: the channel shows the options of a button question numbered."""
    if inbound.payload is not None:
        return _button(flows, state, inbound.payload)
    text = clean_text(inbound.text or "").strip()
    if not text:
        return [Reask()]
    if text.startswith("/"):
        return _slash_command(state, text)
    commands: list[Command] = []
    language = _language_change(flows, state, text)
    if language is not None:
        commands.append(SetLanguage(language, chosen=False))
    offered_skip = state.offered == P_CMD + "skip"
    if offered_skip and _HAND_OVER.search(fold(text)) and _skippable(flows, state):
        return [*commands, WayForward("handover")]  # "geef maar door wat je al weet"
    if (offered_skip and _yes_or_no(text) is True) or (
        _SKIP.search(fold(text)) and _skippable(flows, state)
    ):
        # "ja" to "Zullen we deze vraag overslaan?", "overslaan maar" at an intake question:
        # that question is skipped, never the whole intake cancelled (tester's findings, 6 Dec)
        return [*commands, WayForward("skip")]
    if (again := _read_again(flows, state, text)) is not None:
        return [*commands, again]
    if is_cancel(text, flows) or _says(flows, nlu, "cancel"):
        return [*commands, Cancel()]
    found = find_values(flows, text, nlu)
    if not state.welcomed:
        # Kept for the conversation (not stored) until consent is answered.
        fills, _ = _split(flows, state, found, text, correcting=False)
        if fills:
            commands.append(SetSlots(fills))
        return [*commands, Welcome(then=_first_topic(flows, nlu, text))]
    if state.doubt is not None and (keep := _yes_or_no(text)) is not None:
        return [*commands, ResolveDoubt(keep)]
    step = pending_step(flows, state)
    if step is None:
        return commands + _own_answer(
            flows, state, text, _no_question(flows, state, text, nlu, found)
        )
    return commands + _own_answer(
        flows, state, text, _at_question(flows, state, step, text, nlu, found, numbered)
    )


def _own_answer(
    flows: FlowSet, state: ConversationState, text: str, commands: list[Command]
) -> list[Command]:
    """A question about a contract other than the one known gets that contract's answer: "dit
    is mijn 4e tijdelijke contract, klopt dat?" after the on-call rules was "Dat heb ik je
    eerder uitgelegd" (the on-call text again; person trial, 6 Dec). The contract the question
    names (one, by its option words) is taken before the answer is chosen."""
    if not any(isinstance(c, AnswerQuestion) for c in commands):
        return commands
    set_here = {name for c in commands if isinstance(c, SetSlots) for name in c.values}
    known = state.known()
    fills: dict[str, JsonScalar] = {}
    for name, slot in flows.slots.items():
        if slot.type is not SlotType.CHOICE or not slot.entity or name in set_here:
            continue
        said = _options_named(slot, text)
        if len(said) == 1 and known.get(name) not in (None, *said):
            fills[name] = said.pop()
    return [SetSlots(fills), *commands] if fills else commands


# Inflected forms the option words do not list: "tijdelijke", "vaste".
_INFLECTED = re.compile(r"\b(\w{5,})e\b")


def _options_named(slot: SlotDef, text: str) -> set[str]:
    """The options a message names, also inflected; "vast" beside another one is the outcome
    asked about ("ben ik na 3 jaar uitzenden vast?"), not the contract."""
    other = {option.value for option in slot.options if option.other}
    said = {m.value for t in (text, _INFLECTED.sub(r"\1", text)) for m in said_options(slot, t)}
    said -= other
    if len(said) > 1:
        said.discard("vast")
    return said


def _read_again(flows: FlowSet, state: ConversationState, text: str) -> Command | None:
    """ "ja" / "nog een keer" typed right after "Wil je het nog een keer lezen?": its button.
    A plain "ja" only when the pending question is not a yes/no question itself (then the
    "ja" may be its answer); "nog een keer" always."""
    offered = state.offered
    if offered is None or not offered.startswith(P_AGAIN):
        return None
    key = offered[len(P_AGAIN) :]
    if key not in flows.texts:
        return None
    if _AGAIN.search(fold(text)):
        return ShowAgain(key)
    step = pending_step(flows, state)
    yes_no = step is not None and flows.slots[step.collect].type is SlotType.YES_NO
    if not yes_no and _yes_or_no(text) is True:
        return ShowAgain(key)
    return None


def _skippable(flows: FlowSet, state: ConversationState) -> bool:
    """A question of the intake itself is pending (not the consent question, not the summary)."""
    if not state.welcomed or not state.stack:
        return False
    cf = flows.flows.get(state.stack[-1].flow)
    step = pending_step(flows, state)
    return cf is not None and cf.hands_off and step is not None and not step.corrections


def needs_nlu(flows: FlowSet, state: ConversationState, inbound: Inbound) -> bool:
    """False when `understand` decides the same without the NLU (buttons, commands, typed
    values, an exact option), so the NLU server is only called when it matters."""
    if inbound.payload is not None or inbound.text is None:
        return False
    text = clean_text(inbound.text).strip()
    if not text or text.startswith("/") or is_cancel(text, flows):
        return False
    if not state.welcomed:
        return True
    if state.doubt is not None and _yes_or_no(text) is not None:
        return False
    step = pending_step(flows, state)
    if step is None:
        return True
    slot = flows.slots[step.collect]
    parsed = parse_value(slot, text=text, payload_value=None, nlu=None)
    if slot.type in _CLOSED:
        return not parsed.exact
    if step.corrections:
        return True
    if slot.type in _TYPED:
        return not (parsed.ok or parsed.attempted)
    return True


# -- buttons and commands ----------------------------------------------------------------------


def _button(flows: FlowSet, state: ConversationState, payload: str) -> list[Command]:
    if not state.welcomed and not payload.startswith((P_FLOW, P_INTENT, P_LANG)):
        return [Welcome()]
    step = pending_step(flows, state)
    if payload.startswith(P_VALUE) and step is not None:
        slot = flows.slots[step.collect]
        parsed = parse_value(slot, text=None, payload_value=payload[len(P_VALUE) :], nlu=None)
        if parsed.ok and slot.type is not SlotType.TEXT:
            return [SetSlots({step.collect: parsed.value, **parsed.extra}, answers=step.collect)]
        return [StaleButton()]  # a button of another question (free-text ones have none)
    if payload.startswith(P_DOUBT) and state.doubt is not None:
        return [ResolveDoubt(payload[len(P_DOUBT) :] == "yes")]
    if payload.startswith(P_INTENT):
        cf = flows.flow_for_intent(payload[len(P_INTENT) :], 1.0, mid_question=step is not None)
        return [StartFlow(cf.id)] if cf else [StaleButton()]
    if payload.startswith(P_FLOW):
        return [StartFlow(payload[len(P_FLOW) :])]
    if payload.startswith(P_FIX) and step is not None:
        return [StartCorrection(payload[len(P_FIX) :])]
    if payload.startswith(P_LANG) and payload[len(P_LANG) :] in ("nl", "en"):
        return [SetLanguage(payload[len(P_LANG) :], chosen=True)]
    if payload.startswith(P_AGAIN) and payload[len(P_AGAIN) :] in flows.texts:
        return [ShowAgain(payload[len(P_AGAIN) :])]
    if payload in {P_CMD + "skip", P_CMD + "handover", P_CMD + "chat"}:
        return [WayForward(payload[len(P_CMD) :])]
    if payload == P_CMD + "cancel":
        return [Cancel()]
    if payload == P_CMD + "retry":
        return [Retry()]
    if payload == P_CMD + "menu":
        return [ShowMenu()]
    if payload == P_CMD + "back":
        return [Reask()]
    return [StaleButton()]


def _slash_command(state: ConversationState, text: str) -> list[Command]:
    command, _, argument = text.partition(" ")
    command = command.lower().split("@")[0]  # Telegram adds @botname in groups
    if command in {"/stop", "/cancel"}:
        return [Cancel()]
    if command in _LANGUAGE_COMMANDS:
        choice = argument.strip().lower()[:2]
        return [SetLanguage(choice, chosen=True)] if choice in ("nl", "en") else [PickLanguage()]
    if command == "/start":
        # Again mid-conversation (or a restarted terminal): continue where we were.
        return [Welcome()] if not state.welcomed else [Reask()]
    if command in _HUMAN_COMMANDS:
        return [HumanHandoff()]
    if state.stack and command not in {"/menu", "/help"}:
        return [Reask()]
    return [ShowMenu()]


# -- no question pending -----------------------------------------------------------------------


def _no_question(
    flows: FlowSet, state: ConversationState, text: str, nlu: NluResult | None, found: list[Found]
) -> list[Command]:
    if state.handed_off and (details := _contact_details(flows, text, found)):
        # "06-12345678" after the handoff: for the open case, never a second intake
        return [UpdateCase(details)]
    if state.handed_off and _says(flows, nlu, "greet"):
        return [HumanHandoff()]  # "hallo?" while waiting: the request is open, the coach calls
    fills, corrections = _split(flows, state, found, text, correcting=False)
    commands: list[Command] = []
    if fills:
        commands.append(SetSlots(fills))
    if state.offered is not None and _yes_or_no(text) is True:
        # "ja" to "Wil je liever met een mens praten?" and its one button: that button
        return [*commands, *_button(flows, state, state.offered)]
    if (ack := _acknowledgement(flows, text, nlu)) is not None:
        return [*commands, ack]
    if (asked := _asked(flows, state, text, nlu, pending=False)) is not None:
        return [*commands, asked]
    if nlu is None or not nlu.available:
        cf = _keyword_flow(flows, text)
        if cf is None:
            return [*commands, NluDown()]
        return [*commands, _start(flows, cf)]
    cf = flows.flow_for_intent(nlu.intent, nlu.confidence)
    if cf is not None and cf.off_topic and is_unreadable(text):
        # "blablabla", "hmm what": not understood (say it differently, or pick), never "I
        # cannot help with that"; repeated, a person is offered all the same
        return [*commands, Clarify(())]
    if cf is not None:
        return [*commands, _start(flows, cf)]
    if corrections:
        return [*commands, CorrectSlots(corrections)]
    return [*commands, Clarify(_likely_flows(flows, nlu, mid_question=False))]


def _contact_details(flows: FlowSet, text: str, found: list[Found]) -> dict[str, JsonScalar]:
    """The phone numbers and e-mail addresses a message gives (the last of each)."""
    details: dict[str, JsonScalar] = {}
    for f in found:
        if flows.slots[f.slot].type in _CONTACT and not is_negated(text, f.start):
            details[f.slot] = f.value
    return details


def _start(flows: FlowSet, cf: CompiledFlow) -> Command:
    return HumanHandoff() if cf.id == flows.settings.human_flow else StartFlow(cf.id)


def _first_topic(flows: FlowSet, nlu: NluResult | None, text: str) -> str | None:
    """What a first message asks for, to continue with once the welcome is done."""
    if nlu is not None and nlu.available:
        cf = flows.flow_for_intent(nlu.intent, _topic_confidence(flows, nlu))
    else:
        cf = _keyword_flow(flows, text)
    asked = asked_about(flows, text)  # "how much money i get from uwv?" first: the WW
    trigger = cf.flow.trigger if cf is not None and not cf.flow.digression else None
    if asked is not None and not (trigger and contains_keyword(text, trigger.keywords)):
        return asked.id
    if cf is None or cf.id == flows.settings.welcome_flow or cf.flow.chitchat:
        return None
    return cf.id


# -- a question is pending ---------------------------------------------------------------------


def _at_question(
    flows: FlowSet,
    state: ConversationState,
    step: CollectStep,
    text: str,
    nlu: NluResult | None,
    found: list[Found],
    numbered: bool = False,
) -> list[Command]:
    slot = flows.slots[step.collect]
    if step.corrections and (asked := _asked(flows, state, text, nlu)) is not None:
        return [asked]  # "hoe lang krijg ik ww?" at the summary: no "ww" → no work
    if step.corrections:
        # At a summary: every field the sentence changes is changed ("ik woon eigenlijk in
        # Naaldwijk en wil liever via de chat"; "woonplaats is naaldwijk").
        fixes = _changes_said(flows, state, step, text, nlu, found)
        # what the summary does not show, kept for a question still to come ("ik heb
        # trouwens hbo" at the short intake's summary)
        later, _ = _split(
            flows,
            state,
            [f for f in found if f.slot not in step.corrections],
            text,
            correcting=False,
        )
        kept: list[Command] = [SetSlots(later)] if later else []
        if fixes:
            return [*kept, CorrectSlots(fixes)]
        if (narrow := _narrowed(flows, step, text)) is not None:
            return [*kept, narrow]  # "bel me liever overdag": morning or afternoon?
        if later and _mostly(found, later, text):
            return [*kept, Reask(noted=tuple(later))]
    # "wijzig mijn woonplaats"; at a summary also just "woonplaats"
    fixable = step.corrections or _asked_before(flows, state)
    target = correction_target(text, flows, fixable, bare=bool(step.corrections))
    if target is not None:
        given = [f for f in found if f.slot == target and not is_negated(text, f.start)]
        if not given:
            return [StartCorrection(target)]
    parsed = parse_value(slot, text=text, payload_value=None, nlu=nlu)
    if step.corrections and slot.type is SlotType.YES_NO and parsed.value == PARTLY:
        # "ja, alleen de woonplaats niet" at "Klopt dit?": not confirmed; that field asked
        # again, or "what would you like to change?"
        field = _field_named(flows, step.corrections, text)
        return [StartCorrection(field) if field else _answer(step, Parsed(True, False))]
    if slot.type in _CLOSED and parsed.exact:
        return [_answer(step, parsed)]
    if slot.type in _CLOSED and not parsed.ok and (number := option_number(text)) is not None:
        return [_numbered(step, slot, number, numbered)]
    if slot.type in _CLOSED and parsed.ok and looks_like_question(text):
        # "wat is het verschil tussen tijdelijk en vast?": a question that names options is
        # answered, never stored as an answer
        parsed = Parsed(False)
    own = {step.collect, slot.region_slot, slot.place_slot}
    others = [f for f in found if f.slot not in own]
    fills, corrections = _split(flows, state, others, text, correcting=bool(step.corrections))
    if not step.corrections:
        # "opleiding is hbo", "de opleiding was havo": an earlier answer named with its new value
        corrections.update(_renamed(flows, state, step, text, nlu))
    commands: list[Command] = [SetSlots(fills)] if fills else []
    if corrections:
        # "nee, ik woon niet in Amsterdam maar in Utrecht": the message is about the change;
        # an option of the pending question said with it is its answer ("opleiding is hbo en
        # bel me liever 's avonds" at the best-time question), kept before going back
        answer = parse_value(slot, text=text, payload_value=None, nlu=None)
        if slot.type is SlotType.CHOICE and answer.ok and not looks_like_question(text):
            commands.append(SetSlots({step.collect: answer.value, **answer.extra}))
        return [*commands, CorrectSlots(corrections)]
    if slot.type is SlotType.CHOICE and not parsed.ok and (by := _option_filled(slot, fills)):
        # "06 12345678" at "how shall the coach contact you?": the phone, and that number
        return [SetSlots(fills, noted=True), SetSlots({step.collect: by}, answers=step.collect)]
    if slot.type in _TYPED and (parsed.ok or parsed.attempted):
        if parsed.ok and parsed.doubtful:
            return [*commands, _confirm(step, parsed)]
        return [*commands, _answer(step, parsed)]
    if fills and slot.type is SlotType.TEXT and _mostly(others, fills, text):
        # "Den Haag" at the name question is a town, not a name: noted, and asked again
        return [*commands, Reask(noted=tuple(fills))]
    situation_is_no_answer = (
        slot.format == "name" or slot.type in _TYPED
    )  # not at "what do you want?"
    if situation_is_no_answer and _states_a_topic(flows, state, step, text):
        # "ik ben ontslagen" at the name question: what happened, not a name (nor a town).
        # Kept where it answers a question still to come, acknowledged, and asked again.
        said = _situation_said(flows, state, step, text)
        return [*commands, *([SetSlots(said)] if said else []), Reask(heard_topic=True)]
    if _splits(flows, state, step, slot) and (parts := split_question(text)) is not None:
        # "ik ben lasser, hoe zit het met die 5000 euro?", "tijdelijk, wat kost een coach?":
        # the answer, then the question
        both = _answer_and_question(flows, state, step, slot, parts, nlu, found, text)
        if both is not None:
            return [*commands, both]
    if (asked := _asked(flows, state, text, nlu)) is not None:
        return [*commands, asked]
    if slot.type in _CLOSED and not parsed.ok and not step.corrections:
        # The pending question first: an answer in other words is never a new topic.
        unfit = _unfit_answer(flows, state, step, slot, text, parsed, nlu)
        if unfit is not None:
            return [*commands, unfit]
    named = slot.format == "name" and parsed.ok and _NAME_SAID.search(text) is not None
    interruption = None if named else _interruption(flows, state, slot, text, nlu, parsed)
    if interruption is not None:
        return [*commands, interruption]
    if parsed.ok:
        if parsed.doubtful:
            return [*commands, _confirm(step, parsed)]
        if slot.type is SlotType.TEXT and looks_like_question(text):
            return [*commands, _unknown_question(flows, nlu)]
        return [*commands, _answer(step, parsed)]
    if commands:
        # "ik heet Sam" at the town question: noted, and the question comes back
        return [*commands, Reask(noted=tuple(fills))]
    if looks_like_question(text):
        return [_unknown_question(flows, nlu)]
    return [InvalidAnswer(step.collect, parsed.reason, parsed.suggestions)]


# What introduces an answer about work or a wish, not part of it: "ik ben (een) lasser", "ik
# werk als kok", "I am a forklift driver", "I work as a cleaner".
_ANSWER_INTRO = re.compile(
    r"^(?:ik ben (?:een |nu |al )?|ik werk als (?:een )?|ik werk(?:te)? |ik doe |"
    r"i am (?:a |an )?|i'm (?:a |an )?|im (?:a |an )?|i work as (?:a |an )?|i work |i do )",
    re.IGNORECASE,
)
# An answer part that says the person cannot or will not answer ("geen idee", "snap ik niet",
# "liever niet", "I don't know"), and a question part about the question itself ("wat bedoel
# je?", "waarom wil je dat weten?", "what do you mean?"): then nothing is stored.
_NOT_AN_ANSWER = re.compile(
    r"\b(?:geen idee|weet (?:ik )?(?:het )?niet|weet niet|snap|begrijp|liever niet|zeg ik niet|"
    r"gaat je niks aan|gaat je niets aan|niet zeggen|geen zin|"
    r"no idea|dont know|don t know|do not know|not sure|dont understand|don t understand|"
    r"do not understand|rather not|prefer not|none of your business|"
    # no work is no answer about work: "ik werk niet", "niks", "nothing at the moment"
    r"werk niet|geen werk|geen baan|niks|niets|nothing|no job|no work|not working)\b"
)
_ABOUT_THE_QUESTION = re.compile(
    r"\b(?:wat bedoel|hoe bedoel|bedoel je|waarom (?:wil|moet|vraag)|waarvoor (?:wil|moet|is)|"
    r"is dat (?:nodig|verplicht)|moet dat|wat moet ik (?:hier )?(?:invullen|typen|zeggen)|"
    r"what do you mean|what does that mean|why do you (?:need|want|ask)|"
    r"is that (?:necessary|required)|do i have to (?:answer|say|tell))\b"
)
# Words that only colour a sentence about what happened ("ik ben gisteren ontslagen", "I just
# got fired"): what is left of it when the topic's own words are taken out.
_SITUATION_FILLER = word_set(
    "ik ben was word wordt werd ben net pas gisteren vandaag vorige vorig afgelopen deze week "
    "maand jaar mijn mn m me mij het de een heb had hebben zijn is er al nu ook toch helaas "
    "eigenlijk gewoon echt dus zojuist onverwachts plotseling opeens we wij "
    "i am was got get been have has just my the a an yesterday today last this week month "
    "year and so also already now unfortunately suddenly we were are"
)


def _splits(flows: FlowSet, state: ConversationState, step: CollectStep, slot: SlotDef) -> bool:
    """Where an answer and a question may come in one message: a free-text question, or a
    button question answered in words; never the summary (a sentence there changes fields)
    and never the consent question (consent is given with the answers in hand)."""
    if step.corrections or state.stack[-1].flow in (
        flows.settings.welcome_flow,
        flows.settings.consent_flow,
    ):
        return False
    return slot.type is SlotType.TEXT or slot.type in _CLOSED


def _answer_and_question(
    flows: FlowSet,
    state: ConversationState,
    step: CollectStep,
    slot: SlotDef,
    parts: tuple[str, str],
    nlu: NluResult | None,
    found: list[Found],
    text: str,
) -> Command | None:
    """An answer to a free-text question and a question in one message: the answer part is
    stored and the question answered in between (`SetSlots.then`), or None when the answer
    part is no answer here (then the message is read as a whole, as before).

    The answer part is no answer when it is implausible on its own ("ok, wat kost het?"),
    when it is mostly another value ("Tilburg, wat kost het?" at the name question), or when
    it only says what happened to the person in a topic's own words ("ik ben ontslagen, wat
    moet ik doen?" at the work question): a situation is not work, a wish or a name."""
    answer, question = parts
    if _NOT_AN_ANSWER.search(fold(answer)) or _ABOUT_THE_QUESTION.search(fold(question)):
        return None  # "geen idee, wat bedoel je?": about the question, not an answer to it
    free = slot.type is SlotType.TEXT
    if free and slot.format != "name":
        answer = _ANSWER_INTRO.sub("", answer).strip() or answer
    parsed = parse_value(slot, text=answer, payload_value=None, nlu=None)
    if not parsed.ok or parsed.doubtful:
        return None
    # an option said is an answer; free text that only tells a situation is not
    if free and _states_a_topic(flows, state, step, answer):
        return None
    start = text.find(answer)
    if start >= 0:
        inside = [
            Found(f.slot, f.value, f.start - start, f.end - start, f.extra)
            for f in found
            if f.slot != step.collect and start <= f.start and f.end <= start + len(answer)
        ]
        if inside and _mostly(inside, {f.slot: f.value for f in inside}, answer):
            return None
    then = _in_between(flows, state, question, nlu)
    if isinstance(then, HumanHandoff) and not in_intake(flows, state):
        return None  # asking for a person outside an intake: that starts one (as before)
    value = {step.collect: parsed.value, **parsed.extra}
    return SetSlots(value, answers=step.collect, then=then)


def _states_a_topic(
    flows: FlowSet, state: ConversationState, step: CollectStep, answer: str
) -> bool:
    """ "ik ben ontslagen", "I got fired", "mijn contract wordt niet verlengd": a topic's
    keyword with only filler around it, where the pending question does not use that word
    ("een opleiding" is a wish at "Bijvoorbeeld ... een opleiding", not the training topic)."""
    asked = f" {fold(render_question(flows, state, step))} "
    rest = f" {fold(answer)} "
    said = False
    for cf in flows.triggered_flows():
        if cf.flow.digression or cf.flow.trigger is None:
            continue
        for keyword in cf.flow.trigger.keywords:
            k = fold(keyword)
            if k and f" {k} " in rest and f" {k} " not in asked:
                rest = rest.replace(f" {k} ", " ")
                said = True
    return said and all(w in _SITUATION_FILLER for w in rest.split())


def _situation_said(
    flows: FlowSet, state: ConversationState, step: CollectStep, text: str
) -> dict[str, JsonScalar]:
    """The answers a situation gives to the topic questions still to come ("ik ben ontslagen":
    the work situation), where its words name exactly one option."""
    known = state.known()
    said: dict[str, JsonScalar] = {}
    for name, slot in flows.slots.items():
        if slot.type is not SlotType.CHOICE or not slot.intents or name == step.collect:
            continue
        if known.get(name) is not None:
            continue
        options = {m.value for m in said_options(slot, text)}
        if len(options) == 1:
            said[name] = options.pop()
    return said


def _in_between(
    flows: FlowSet, state: ConversationState, question: str, nlu: NluResult | None
) -> Command:
    """What answers the question part: the short answer the NLU read in the whole message
    when the question part's own words agree (or name none), else the one those words name
    (the keywords of a digression, read in the question part only: the NLU may have read the
    answer part), else "I have no answer to that"."""
    named = [
        cf
        for cf in flows.triggered_flows()
        if cf.flow.digression
        and not cf.flow.chitchat
        and cf.flow.trigger is not None
        and contains_keyword(question, cf.flow.trigger.keywords)
    ]
    read = None
    if nlu is not None and nlu.available:
        cf = flows.flow_for_intent(nlu.intent, nlu.confidence, mid_question=True)
        if cf is not None and cf.id == flows.settings.human_flow:
            return HumanHandoff()
        if cf is not None and cf.flow.digression and cf.id != state.active_flow:
            read = cf
    if (asked := _asked(flows, state, question, None)) is not None:
        return asked
    if read is not None and (read in named or len(named) != 1):
        return _digression(read)
    if named:
        return _digression(named[0])
    return CannotHandle(question=True)


def _asked(
    flows: FlowSet,
    state: ConversationState,
    text: str,
    nlu: NluResult | None,
    *,
    pending: bool = True,
) -> Command | None:
    """A question its own words name ("hoe lang krijg ik ww?", "krijg ik die 5000 euro
    zeker?"): that short answer, whatever the model reads (bot/engine/asked.py). With nothing
    pending and no case open, a topic the model reads and the message names by its keywords
    ("ik ben ontslagen, hoeveel ww krijg ik?") starts as before: its rights come with the
    intake."""
    cf = asked_about(flows, text)
    if cf is None or cf.id == state.active_flow:
        return None
    if not pending and not state.handed_off and nlu is not None and nlu.available:
        topic = flows.flow_for_intent(nlu.intent, nlu.confidence)
        trigger = topic.flow.trigger if topic is not None else None
        if topic is not None and trigger is not None and not topic.flow.digression:
            return None if contains_keyword(text, trigger.keywords) else AnswerQuestion(cf.id)
    return AnswerQuestion(cf.id)


def _acknowledgement(flows: FlowSet, text: str, nlu: NluResult | None) -> Command | None:
    """ "ja", "oké", "dank je wel", "thanks", 👍, "top": said when nothing is pending."""
    symbols = [ch for ch in text if not ch.isalnum() and not ch.isspace()]
    words = fold(text).split()
    if not words:
        # emoji only: 👍 👌 🙏 ✅ 🙂 — a thumbs-down or an angry face is not an acknowledgement
        positive = any(ch in _ACK_SYMBOLS for ch in symbols)
        if positive and all(ch in _ACK_SYMBOLS or ch in _PUNCTUATION for ch in symbols):
            return Acknowledge(thanks="🙏" in text)
        return None
    thanks = any(w in _THANKS_WORDS for w in words) or "🙏" in text
    if all(w in _ACK_WORDS or w in _THANKS_WORDS for w in words) and len(words) <= 6:
        return Acknowledge(thanks=thanks)
    if (
        nlu is not None
        and nlu.available
        and nlu.intent in ("thanks", "affirm")
        and nlu.confidence >= flows.settings.interrupt_confidence
        and len(words) <= 4
        and not looks_like_question(text)
    ):
        return Acknowledge(thanks=nlu.intent == "thanks")
    return None


_THANKS_WORDS = word_set(
    "bedankt dank dankje dankjewel dankuwel danku bedankd thanks thank thx tnx ty merci "
    "dankjewell dankjee"
)
_ACK_WORDS = YES_WORDS | word_set(
    "je jij u wel hoor zeer heel erg fijn mooi top super toppie cool nice great perfect "
    "perfecto duidelijk helder alright fine good allright you very much so lot a helemaal "
    "is dat oke okee okey k kk ok ok'tje oki dan"
)
_ACK_SYMBOLS = frozenset("👍👌🙏✅🙂😊😀😄☺❤💪🤝👏🥰😃♥🫶✔")
_PUNCTUATION = frozenset(".,!?:;-~'\"\ufe0f\u200d🏻🏼🏽🏾🏿")


def _numbered(step: CollectStep, slot: SlotDef, number: int, numbered: bool) -> Command:
    """ "optie 2" picks the second button where the buttons are shown numbered; elsewhere, or
    out of range, the person is told how to answer (never a silent re-ask)."""
    values = [o.value for o in slot.options] if slot.type is SlotType.CHOICE else ["yes", "no"]
    if not numbered:
        return NumberTyped(step.collect, None)
    if not 1 <= number <= len(values):
        return NumberTyped(step.collect, len(values))
    parsed = parse_value(slot, text=None, payload_value=values[number - 1], nlu=None)
    return _answer(step, parsed)


# "ik heet ...", "call me ...": at the name question, a name however the NLU reads it
_NAME_SAID = re.compile(
    r"\b(?:ik heet|heet ik|naam is|name is|call me|noem me|ik ben|i'm|i am|me \S+ noemen)\b",
    re.IGNORECASE,
)


def _confirm(step: CollectStep, parsed: Parsed) -> Command:
    """Check a doubtful answer back: "Is 'Ja' je naam?", "Bedoel je Nijmegen?", "Kwintsheul
    hoort bij de gemeente Westland, klopt dat?" (with the other candidates for a no)."""
    return ConfirmValue(
        step.collect,
        parsed.value,
        parsed.extra,
        () if parsed.check else parsed.suggestions,
        parsed.check,
        parsed.suggestions[0] if parsed.check and parsed.suggestions else None,
    )


def _unfit_answer(
    flows: FlowSet,
    state: ConversationState,
    step: CollectStep,
    slot: SlotDef,
    text: str,
    parsed: Parsed,
    nlu: NluResult | None,
) -> Command | None:
    """A message about what was asked that fits no button ("in polen heb ik technische school
    gedaan, hier niks"): the `other` option, or the buttons again with a short word. None
    when it is not about the question (then it may be a question or another topic)."""
    if looks_like_question(text):
        return None
    question = render_question(flows, state, step)
    on_topic = (
        nlu is not None
        and nlu.available
        and nlu.intent in slot.intents
        and nlu.confidence >= flows.settings.clarify_min_confidence
    )
    if not (parsed.attempted or on_topic or about_the_question(slot, text, question)):
        return None
    other = other_option(slot) if slot.type is SlotType.CHOICE else None
    if other is not None and parsed.reason != "ambiguous":
        return SetSlots({step.collect: other}, answers=step.collect)
    return InvalidAnswer(step.collect, parsed.reason or "unclear", parsed.suggestions)


def render_question(flows: FlowSet, state: ConversationState, step: CollectStep) -> str:
    slot = flows.slots[step.collect]
    ref = step.ask or slot.ask
    if ref is None:
        return ""
    text = flows.text(ref)
    return f"{text.nl} {text.en or ''}"


def _changes_said(
    flows: FlowSet,
    state: ConversationState,
    step: CollectStep,
    text: str,
    nlu: NluResult | None,
    found: list[Found],
) -> dict[str, JsonScalar]:
    """The new values a message at a summary gives, for any number of its fields."""
    known = state.known()
    mentioned = [f for f in found if f.slot in step.corrections]
    # A field still empty counts too ("mail me liever op sam@example.nl": the method and the
    # address it needs, in one sentence).
    fills, changes = _split(flows, state, mentioned, text, correcting=True)
    changes = {**fills, **changes}
    for name in step.corrections:
        slot = flows.slots[name]
        if slot.type is not SlotType.CHOICE or name in changes:
            continue
        said = {m.value for m in said_options(slot, text)}
        if not said and (timed := time_option(slot, text)) is not None:
            said = {timed}  # "bel me liever na 17:00" → Avond
        if len(said) == 1 and (option := said.pop()) != known.get(name):
            changes[name] = option
    named = _named_value(flows, step.corrections, text, nlu)
    if named is not None:
        field, value, extra = named
        if value != known.get(field) or any(known.get(k) != v for k, v in extra.items()):
            changes.update({field: value, **extra})
    order = {name: i for i, name in enumerate(step.corrections)}  # told in the summary's order
    return dict(sorted(changes.items(), key=lambda kv: order.get(kv[0], len(order))))


def _option_filled(slot: SlotDef, fills: dict[str, JsonScalar]) -> str | None:
    """The one option named after a slot the message filled (the option `phone` when a phone
    number was typed at the contact question)."""
    named = [o.value for o in slot.options if fills.get(o.value) not in (None, "")]
    return named[0] if len(named) == 1 else None


def _renamed(
    flows: FlowSet, state: ConversationState, step: CollectStep, text: str, nlu: NluResult | None
) -> dict[str, JsonScalar]:
    """A field asked before, named with a new value ("opleiding is hbo"), at another question."""
    fixable = [name for name in _asked_before(flows, state) if name != step.collect]
    named = _named_value(flows, fixable, text, nlu)
    if named is None:
        return {}
    field, value, extra = named
    known = state.known()
    if value == known.get(field) and all(known.get(k) == v for k, v in extra.items()):
        return {}
    return {field: value, **extra}


def _narrowed(flows: FlowSet, step: CollectStep, text: str) -> Narrow | None:
    """A field of the summary named by a word several of its options share ("overdag")."""
    for name in step.corrections:
        slot = flows.slots[name]
        if slot.type is SlotType.CHOICE:
            parsed = parse_value(slot, text=text, payload_value=None, nlu=None)
            if parsed.reason == "narrow":
                return Narrow(name, parsed.suggestions)
    return None


_IS = (
    r"\s*(?:is|was|=|:|moet zijn|wordt|moet|should be|is actually|is eigenlijk|was eigenlijk|"
    r"eigenlijk)\s+"
)
_CUT = re.compile(r"\s+(?:en|and|maar|but)\s+|[,;]\s*")


def _named_value(
    flows: FlowSet, candidates: Iterable[str], text: str, nlu: NluResult | None
) -> tuple[str, JsonScalar, dict[str, JsonScalar]] | None:
    """ "woonplaats is naaldwijk", "mijn telefoon moet zijn 06 ...": a field named with its
    new value (the value parsed as that field's answer)."""
    folded = text.strip()
    best: tuple[str, JsonScalar, dict[str, JsonScalar]] | None = None
    for name in candidates:
        slot = flows.slots[name]
        names = [*slot.aliases, name.replace("_", " ")]
        if slot.label is not None:
            names += [slot.label.nl, slot.label.en or ""]
        for field_name in sorted({n for n in names if n}, key=len, reverse=True):
            pattern = re.compile(rf"\b{re.escape(field_name)}{_IS}(?P<rest>.+)$", re.IGNORECASE)
            m = pattern.search(folded)
            if m is None:
                continue
            rest = _CUT.split(m.group("rest"))[0].strip(" .!?")
            parsed = parse_value(slot, text=rest, payload_value=None, nlu=None)
            if parsed.ok and not parsed.doubtful:
                best = (name, parsed.value, dict(parsed.extra))
                break
        if best is not None:
            return best
    return None


def _asked_before(flows: FlowSet, state: ConversationState) -> list[str]:
    """Slots the running flow asked before the pending question (they can be corrected)."""
    frame = state.stack[-1]
    cf = flows.flows.get(frame.flow)
    if cf is None or frame.step not in cf.index_by_id:
        return []
    current = cf.index_by_id[frame.step]
    known = state.known()
    return [
        step.collect
        for step in cf.flow.steps[:current]
        if isinstance(step, CollectStep) and known.get(step.collect) is not None
    ]


def _mostly(found: list[Found], used: dict[str, JsonScalar], text: str) -> bool:
    """Whether the values taken from the message make up most of it."""
    covered: set[int] = set()
    for f in found:
        if f.slot in used:
            covered.update(range(f.start, f.end))  # the NLU and a detector may both find it
    return len(covered) * 2 >= len(text.strip())


def _answer(step: CollectStep, parsed: Parsed) -> Command:
    if parsed.ok:
        return SetSlots({step.collect: parsed.value, **parsed.extra}, answers=step.collect)
    return InvalidAnswer(step.collect, parsed.reason, parsed.suggestions)


def _interruption(
    flows: FlowSet,
    state: ConversationState,
    slot: SlotDef,
    text: str,
    nlu: NluResult | None,
    parsed: Parsed,
) -> Command | None:
    """Something other than an answer: a question, a person, chatter, another topic."""
    if slot.type is not SlotType.TEXT and parsed.ok:
        return None  # a valid answer to a closed question wins
    if _only_digits(text):
        return None  # "06-1234" at a button question is a slip, not a request for a person
    if nlu is None or not nlu.available:
        if parsed.ok or parsed.attempted:
            return None
        cf = _keyword_flow(flows, text, mid_question=True)
        if cf is None:
            return None
        if cf.id == flows.settings.human_flow:
            return HumanHandoff()
        return _digression(cf) if cf.flow.digression else None
    if state.stack[0].flow == flows.settings.welcome_flow and not parsed.ok:
        # At the consent question a general question (cost, budget, who are you) is answered
        # and the consent question comes back; a topic that needs personal data ("ik ben
        # ontslagen") is taken up right after the welcome.
        if looks_like_question(text) and nlu.confidence >= flows.settings.interrupt_confidence:
            answer = flows.flow_for_intent(nlu.intent, nlu.confidence, mid_question=True)
            if answer is not None and answer.flow.digression:
                return _digression(answer)
        # A topic is taken up right after the consent question, also when the model is torn
        # between two topics ("mijn uitzendcontract stopt": flex work 0.52, job loss 0.48):
        # then it is clearly a topic, only not which. Asking "which one?" here would stack a
        # second question on the consent question, and the "ja" that follows answers the wrong
        # one (persona trial, 5 Dec).
        topic = flows.flow_for_intent(nlu.intent, _topic_confidence(flows, nlu))
        if topic is not None and not topic.flow.digression:
            return StartFlow(topic.id)
    if nlu.confidence < flows.settings.interrupt_confidence:
        return None
    cf = flows.flow_for_intent(nlu.intent, nlu.confidence, mid_question=True)
    if cf is None or cf.id == state.active_flow:
        return None
    if cf.id == flows.settings.human_flow:
        return HumanHandoff()
    if cf.flow.digression:
        # A free-text answer only gives way to what is clearly not one: a question, or chatter
        # that would make an implausible answer ("hallo" as a name).
        plain_answer = not (looks_like_question(text) or parsed.doubtful)
        if slot.type is SlotType.TEXT and parsed.ok and plain_answer:
            return None
        # At a choice question a statement that fits no option is an answer in other words
        # ("tomaten plukken", "in polen heb ik technische school gedaan"): the options again,
        # never another topic's text or "I cannot help with that". Questions and courtesies
        # (hello, thanks, bye) are still answered.
        choice = slot.type is SlotType.CHOICE
        if choice and not looks_like_question(text) and (cf.off_topic or not cf.flow.chitchat):
            return None
        return _digression(cf)
    # Another topic: only where the person is not in the middle of something.
    menu = {item.flow for item in flows.menu}
    if not parsed.ok and len(state.stack) == 1 and state.stack[0].flow in menu:
        return StartFlow(cf.id)
    return None


def _topic_confidence(flows: FlowSet, nlu: NluResult) -> float:
    """How sure the NLU is that the message is one of the topics (whichever): the top intent's
    confidence, or the sum over the topics of its ranking, counted among what is not small talk
    or a question about the service. A first message often wraps its topic in those ("hoi, ik
    krijg ontslag, kunnen jullie helpen?": job loss 0.51, about the service 0.36, hello 0.10),
    and the wrapping takes probability from the topic without competing with it."""
    topics = wrapping = 0.0
    top_is_topic = False
    for score in nlu.ranking:
        cf = flows.flow_for_intent(score.name, 1.0)
        if cf is None:
            continue
        if cf.flow.digression:
            wrapping += score.confidence
        else:
            topics += score.confidence
            top_is_topic = top_is_topic or score.name == nlu.intent
    rest = 1.0 - wrapping
    if not top_is_topic or nlu.confidence < _GUESS_FLOOR or rest < 0.05:
        return max(nlu.confidence, topics)
    return max(nlu.confidence, min(topics / rest, 1.0))


def _only_digits(text: str) -> bool:
    """Digits and punctuation, no letters: a number typed, never an intent."""
    return any(ch.isdigit() for ch in text) and not any(ch.isalpha() for ch in text)


def _digression(cf: CompiledFlow) -> Command:
    return OffTopic(cf.id) if cf.flow.chitchat else AnswerQuestion(cf.id)


def _unknown_question(flows: FlowSet, nlu: NluResult | None) -> Command:
    """A question the NLU was not sure about: offer the likely answers, else say so."""
    options = _likely_flows(flows, nlu, mid_question=True)
    return Clarify(options) if options else CannotHandle(question=True)


def _likely_flows(flows: FlowSet, nlu: NluResult | None, *, mid_question: bool) -> tuple[str, ...]:
    """Flows the NLU found likely enough to offer as buttons (an ambiguous message)."""
    if nlu is None:
        return ()
    settings = flows.settings
    options: list[str] = []
    for score in nlu.ranking:
        if score.confidence < settings.clarify_min_confidence:
            continue
        cf = flows.flow_for_intent(score.name, 1.0, mid_question=mid_question)
        if cf is None or cf.flow.label is None or cf.id in options:
            continue
        if mid_question and not cf.flow.digression:
            continue
        options.append(cf.id)
        if len(options) >= settings.clarify_max_options:
            break
    return tuple(options)


# -- values said in passing --------------------------------------------------------------------


def _split(
    flows: FlowSet,
    state: ConversationState,
    found: list[Found],
    text: str,
    *,
    correcting: bool,
) -> tuple[dict[str, JsonScalar], dict[str, JsonScalar]]:
    """New values (fills) and changed values (corrections) among those the message mentions.

    Negated values do not count ("niet in Amsterdam maar in Utrecht" → Utrecht). A new slot
    takes the first value said; a known value is only replaced by the last different one, and
    only when the message says it corrects something or the value speaks for itself (a
    second phone number).
    """
    known = state.known()
    cue = correcting or has_correction_cue(text)
    said: dict[str, list[Found]] = {}
    for item in found:
        if not is_negated(text, item.start):
            said.setdefault(item.slot, []).append(item)
    fills: dict[str, JsonScalar] = {}
    corrections: dict[str, JsonScalar] = {}
    for slot, items in said.items():
        current = known.get(slot)
        if current is None:
            # the first value said, unless the message corrects itself ("in Goirle, nou ja
            # eigenlijk Riel")
            first = items[-1] if cue else items[0]
            fills.update({slot: first.value, **first.extra})
            continue
        # "eigenlijk in Naaldwijk" when Westland is known: the same municipality, another place
        changed = [
            item
            for item in items
            if item.value != current or any(known.get(k) != v for k, v in item.extra.items())
        ]
        # "ik woon in Tilburg", "I live in Breda": saying where you live corrects the town
        lives = flows.slots[slot].type is SlotType.GEMEENTE and says_home(text, changed[-1:])
        if changed and (cue or lives or flows.slots[slot].type in _SELF_EVIDENT):
            corrections.update({slot: changed[-1].value, **changed[-1].extra})
    return fills, corrections


# -- helpers -----------------------------------------------------------------------------------


def _language_change(flows: FlowSet, state: ConversationState, text: str) -> str | None:
    """The language to switch to, if the message clearly is in the other one. Answers that
    are names, places, numbers or options say nothing about a person's language."""
    if state.language_chosen:
        return None
    step = pending_step(flows, state) if state.welcomed else None
    if step is not None:
        slot = flows.slots[step.collect]
        answer = parse_value(slot, text=text, payload_value=None, nlu=None)
        typed = answer.ok or answer.attempted
        if slot.format == "name" or (slot.type is not SlotType.TEXT and typed):
            return None
    # An e-mail address says nothing about the language either ("sam@example.nl" is not English)
    language = detect_language(_ADDRESS.sub(" ", text), first=not state.language_heard)
    return language if language is not None and language != state.language else None


def _says(flows: FlowSet, nlu: NluResult | None, intent: str) -> bool:
    return (
        nlu is not None
        and nlu.intent == intent
        and nlu.confidence >= flows.settings.interrupt_confidence
    )


def _keyword_flow(flows: FlowSet, text: str, *, mid_question: bool = False) -> CompiledFlow | None:
    """With the NLU down, a keyword still reaches a topic, an answer or a coach."""
    matches = [
        cf
        for cf in flows.triggered_flows()
        if cf.flow.trigger and contains_keyword(text, cf.flow.trigger.keywords)
    ]
    preferred = [cf for cf in matches if cf.flow.digression == mid_question]
    best = preferred or matches
    return best[0] if best else None


def _field_named(flows: FlowSet, fields: Iterable[str], text: str) -> str | None:
    """The one field of a summary a message names ("yes except the town"), if just one."""
    named = []
    for name in fields:
        slot = flows.slots[name]
        words = [*slot.aliases, name.replace("_", " ")]
        if slot.label is not None:
            words += [slot.label.nl, slot.label.en or ""]
        if contains_keyword(fold(text), words):
            named.append(name)
    return named[0] if len(named) == 1 else None


def _yes_or_no(text: str) -> bool | None:
    words = " ".join(text.lower().replace(",", " ").replace("!", " ").split()).split()
    if len(words) > 3 or not words:
        return None
    reading = read_yes_no(fold(text))  # "klopt niet" is no, "geen probleem" yes
    if reading is not None:
        return None if reading is Reading.PARTLY else reading is Reading.YES
    if words[0] in YES_WORDS:
        return True
    if words[0] in NO_WORDS:
        return False
    return None

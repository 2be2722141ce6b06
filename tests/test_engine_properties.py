"""Property: whatever arrives (any text, any payload, any NLU verdict), the engine answers."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.engine.engine import needs_nlu, turn
from bot.engine.messages import Inbound
from bot.engine.state import ConversationState
from bot.flows.registry import FlowRegistry
from bot.nlu.client import Entity, IntentScore, NluResult
from tests.conversation_helpers import FLOWS_DIR

FLOWS = FlowRegistry(FLOWS_DIR).current
INTENTS = [
    "job_loss",
    "flex_contract",
    "training_question",
    "career_orientation",
    "talk_to_human",
    "ask_cost",
    "ask_about_service",
    "privacy_question",
    "bot_challenge",
    "greet",
    "goodbye",
    "thanks",
    "affirm",
    "deny",
    "cancel",
    "out_of_scope",
    "nlu_fallback",
    "nlu_unavailable",
    "made_up_intent",
]
# Payloads the flows really produce, plus prefixes with arbitrary (stale, forged) arguments.
KNOWN_PAYLOADS = sorted(
    {f"f:{fid}" for fid in FLOWS.flows}
    | {f"v:{o.value}" for s in FLOWS.slots.values() for o in s.options}
    | {f"fix:{name}" for name in FLOWS.slots}
    | {"v:yes", "v:no", "lang:nl", "lang:en", "cmd:menu", "cmd:cancel", "cmd:retry"}
)
payloads = st.one_of(
    st.sampled_from(KNOWN_PAYLOADS),
    st.builds(
        lambda p, rest: p + rest,
        st.sampled_from(["v:", "i:", "f:", "fix:", "lang:", "cmd:", ""]),
        st.text(max_size=70),
    ),
)
texts = st.one_of(
    st.text(max_size=300),
    st.sampled_from(
        [
            "ja",
            "nee",
            "stop",
            "/stop",
            "/taal",
            "/taal en",
            "/start",
            "/menu",
            "/human",
            "wijzig telefoonnummer",
            "0612345678",
            "Amsterdam",
            "a@b.nl",
            "1",
            "laat maar",
            "",
        ]
    ),
)
nlu_results = st.one_of(
    st.none(),
    st.builds(
        NluResult,
        intent=st.sampled_from(INTENTS),
        confidence=st.floats(0, 1),
        entities=st.lists(
            st.builds(
                Entity, st.sampled_from(["gemeente", "contract_type", "x"]), st.text(max_size=30)
            ),
            max_size=2,
        ).map(tuple),
        ranking=st.lists(
            st.builds(IntentScore, st.sampled_from(INTENTS), st.floats(0, 1)), max_size=4
        ).map(tuple),
        available=st.booleans(),
    ),
)
inbounds = st.one_of(st.builds(Inbound, text=texts), st.builds(Inbound, payload=payloads))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(inbounds, nlu_results), min_size=1, max_size=25))
def test_every_turn_answers_and_state_stays_serialisable(conversation):
    state = ConversationState()
    for inbound, nlu in conversation:
        needs_nlu(FLOWS, state, inbound)
        result = turn(FLOWS, state, inbound, nlu, channel="test")
        assert result.replies, (inbound, nlu)
        assert all(r.text.strip() for r in result.replies)
        assert all(len(b.payload.encode()) <= 64 for r in result.replies for b in r.buttons)
        # The state must survive the database round trip exactly.
        dumped = result.state.model_dump(mode="json")
        assert ConversationState.model_validate(dumped) == result.state
        state = result.state

"""The coach desk: what happens to a case after the handoff, on any channel.

Who may do what in which state (accept, decline, relay, hand back, close, reassign, assign by
the coordinator), capacity, one open case per participant, coaches who leave or cannot be
reached. Operations run in the caller's transaction and return `Notice`s: what each person
must be told. Channels only parse and render (bot/channels/telegram/routers/).
"""

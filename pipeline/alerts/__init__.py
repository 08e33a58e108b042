"""Alert rules and incidents: a pure, deterministic state machine over answers.

A :class:`Rule` watches the answers of one standing query. Per (rule, camera) a
:class:`Track` counts consecutive windows that meet the rule's :class:`Condition`:
an incident opens after ``open_after`` consecutive hits (and, optionally, once the
hit run spans ``min_duration`` seconds) and closes after ``close_after`` consecutive
misses — hysteresis, so a flickering answer cannot open an incident per window.

Opening (and, if the rule asks, closing) an incident notifies the rule's hooks.
Each hook has a :class:`HookPolicy`: a cooldown per (rule, camera) between two
opening notifications and a rate cap over a sliding period. A notification that a
policy holds back is still emitted, marked ``suppressed`` with the reason, so
nothing disappears silently.

All time is event time (the answers' ``window_end``), never the wall clock, so
replaying the same answers from the same states yields the same incidents, ids and
notifications. Answers that are not newer than the last one seen on a track are
ignored, which makes redelivered answers harmless. States serialise to plain dicts
for durable storage.
"""

"""Time: scheduled sweeps that keep cases moving (reminders, coach SLAs, follow-ups, digests,
the retention purge). Each sweep asks the database what is due and claims every item with a
conditional update in the transaction that queues its messages, so it happens once, with
several processes and across restarts. One scheduler is active at a time (runner.py)."""

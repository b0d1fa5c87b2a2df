"""The NOTIFY channels the outbox speaks on (sent after a commit, never for a rollback).

Item writes and queued mail do not notify in their own transaction: the process that
committed sends the wake-ups afterwards, coalesced (tandem/persistence/wakeups.py).

- `tandem_events`: a wake-up with an empty payload for whoever fans events out
  (subscriptions read every event after their cursor); and, from triggers in the
  changing transaction itself,
  `access:user:<id>` or `access:token:<jti>` when an account's access changed
  (subscriptions check their token again at once).
- `tandem_jobs`: a wake-up for workers when a transaction queued work for them;
  the payload names the kind (`webhooks`, `mail`), and carries no data.
"""

EVENTS_CHANNEL = "tandem_events"
JOBS_CHANNEL = "tandem_jobs"
WEBHOOK_JOBS = "webhooks"
MAIL_JOBS = "mail"
ACCESS_CHANGED = "access:"  # the prefix of the access notifications on EVENTS_CHANNEL

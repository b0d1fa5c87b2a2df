"""The NOTIFY channels the outbox speaks on (delivered on commit, never for a rollback).

- `tandem_events`: one notification per event, its public id (`evt_...`) as the
  payload, for whoever fans events out (subscriptions); and, from triggers,
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

"""The NOTIFY channels the outbox speaks on (delivered on commit, never for a rollback).

- `tandem_events`: one notification per event, its public id (`evt_...`) as the
  payload, for whoever fans events out (subscriptions).
- `tandem_jobs`: a wake-up for workers when a transaction queued work for them;
  the payload names the kind (`webhooks`, `mail`), and carries no data.
"""

EVENTS_CHANNEL = "tandem_events"
JOBS_CHANNEL = "tandem_jobs"
WEBHOOK_JOBS = "webhooks"
MAIL_JOBS = "mail"

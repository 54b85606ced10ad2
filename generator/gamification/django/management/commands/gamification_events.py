"""``manage.py gamification_events [--consumer NAME] [--follow] [--batch N]``: the worker.

Sends the signals (``delivery="worker"``) for the events of every client, psql and other
services included, read through a durable consumer of the event log (README, "Hearing about
awards"): each batch is fetched, its signals sent and acknowledged in one transaction, so a
receiver that raises makes the batch come again (at least once), and a new run resumes
after the last acknowledged event. The consumer is registered on first use (operators:
the role needs gamification_operator). ``--follow`` waits for more (LISTEN
gamification_events, polling too) until interrupted.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError, connections, transaction

from ... import conf, signals

POLL_SECONDS = 5.0


def run_batch(using: str, consumer: str, batch: int) -> int:
    """Fetch, send and acknowledge one batch in one transaction; how many events."""
    with transaction.atomic(using=using), connections[using].cursor() as cursor:
        cursor.execute(f"SELECT {signals.Event.COLUMNS} FROM gamification.events_fetch(%s, %s)",
                       [consumer, batch])
        events = [signals.Event.from_row(row) for row in cursor.fetchall()]
        signals.send(events, "worker", using)
        if events:
            cursor.execute("SELECT gamification.events_ack(%s, %s::xid8, %s)",
                           [consumer, events[-1].txid, events[-1].id])
    return len(events)


def ensure_consumer(using: str, consumer: str, from_start: bool) -> None:
    """consumer_register is idempotent: an existing consumer keeps its cursor."""
    with connections[using].cursor() as cursor:
        cursor.execute("SELECT gamification.consumer_register(%s, %s)", [consumer, from_start])


class Command(BaseCommand):
    help = ("Send the gamification signals for the event log's new events, whoever wrote them, "
            "through a durable consumer (settings.GAMIFICATION_CONSUMER, default 'django').")

    def add_arguments(self, parser):
        parser.add_argument("--consumer", help="consumer name (default: settings.GAMIFICATION_CONSUMER)")
        parser.add_argument("--follow", action="store_true", help="wait for more events until interrupted")
        parser.add_argument("--batch", type=int, default=100, metavar="N", help="events per batch (default 100)")
        parser.add_argument("--database", metavar="ALIAS", help="database alias")
        parser.add_argument("--from-start", action="store_true",
                            help="when the consumer is new, start from the first event in the log "
                                 "(default: from the transactions that end after it is registered)")

    def handle(self, *args, **options):
        using = options["database"] or conf.database()
        consumer = options["consumer"] or conf.consumer()
        connection = connections[using]
        sent = 0
        try:
            ensure_consumer(using, consumer, options["from_start"])
            if options["follow"]:
                with connection.cursor() as cursor:
                    cursor.execute("LISTEN gamification_events")
            while True:
                while count := run_batch(using, consumer, options["batch"]):
                    sent += count
                    if options["verbosity"] >= 2:
                        self.stdout.write(f"{count} event(s)")
                if not options["follow"]:
                    break
                for _ in connection.connection.notifies(timeout=POLL_SECONDS, stop_after=1):
                    pass
        except KeyboardInterrupt:
            pass
        except DatabaseError as exc:
            cause = exc.__cause__
            diag = getattr(cause, "diag", None)
            message = (diag.message_primary if diag else None) or str(exc)
            if diag and diag.message_hint:
                message += f" ({diag.message_hint})"
            raise CommandError(message) from exc
        if options["verbosity"] >= 1:
            self.stdout.write(f"sent the signals of {sent} event(s) (consumer {consumer!r})")

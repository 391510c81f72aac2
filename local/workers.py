"""Local stand-ins for what AWS runs on its own: the scheduler that fires every timer of
the app (EventBridge: `local/scheduler.py`), a pump that long-polls the dispatch queue and
feeds the consumer (the SQS event source) and the event pump (the outbox stream). All are
threads with .stop(); `local/run.py` starts them."""
from __future__ import annotations

import logging
import os
import threading

log = logging.getLogger("recoup.local")


def drain_once(now=None, wait_seconds: int = 0) -> list[str]:
    """Receive one batch from the dispatch queue, run the consumer on it (as the SQS event
    source hands Lambda a batch of up to 10) and delete the messages that succeeded in one
    request (failures come back after the visibility timeout, and go to the DLQ after
    max_receive tries, as on AWS)."""
    from chalicelib.kernel import adapters as wiring
    from chalicelib.dunning import dispatch
    from chalicelib.dunning.sweep import delete_messages, queue_url
    from chalicelib.kernel.clock import utcnow

    got = wiring.aws("sqs").receive_message(QueueUrl=queue_url(), MaxNumberOfMessages=10,
                                            WaitTimeSeconds=wait_seconds).get("Messages", [])
    if not got:
        return []
    # the same (possibly travelled: local.sweep) clock as the ticker and handlers
    results = dispatch.dispatch_batch([(m["Body"], m["ReceiptHandle"]) for m in got],
                                      now if now is not None else utcnow())
    delete_messages([receipt for receipt, outcome in results if outcome is not None])
    return [outcome or "failed" for _, outcome in results]


class Pump(threading.Thread):
    def __init__(self) -> None:
        super().__init__(name="dispatch-pump", daemon=True)
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.is_set():
            try:
                outcomes = drain_once(wait_seconds=2)
                if outcomes:
                    log.info("dispatch: %s", outcomes)
            except Exception:  # noqa: BLE001
                log.exception("pump failed")
                self._stop_event.wait(2)

    def stop(self) -> None:
        self._stop_event.set()
        self.join(timeout=10)


class EventPump(threading.Thread):
    """Delivers outbox events a crash or a failing consumer left pending (in AWS the
    outbox table's stream does this); publishers deliver inline first."""

    def __init__(self, seconds: float = 2.0) -> None:
        super().__init__(name="event-pump", daemon=True)
        self.seconds = seconds
        self._stop_event = threading.Event()

    def run(self) -> None:
        from chalicelib.kernel import events
        from chalicelib.kernel.clock import utcnow

        while not self._stop_event.is_set():
            try:
                counts = events.drain(utcnow())
                if counts["delivered"] or counts["failed"]:
                    log.info("events: %s", counts)
            except Exception:  # noqa: BLE001 - the next pass tries again
                log.exception("event pump failed")
            self._stop_event.wait(self.seconds)

    def stop(self) -> None:
        self._stop_event.set()
        self.join(timeout=5)


def start() -> list:
    """Verify the demo senders on moto's SES, then start the ticker and the pump."""
    from local import resources
    from local.seed import AGENCY

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("recoup.local").setLevel(logging.INFO)  # whatever chalice configured
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto's request log
    resources.verify_senders(AGENCY)
    from app import app
    from chalicelib.kernel.clock import utcnow
    from local.scheduler import Scheduler

    workers = [Scheduler(app, float(os.environ.get("RECOUP_TICK_SECONDS", "30")), utcnow()),
               Pump(), EventPump()]
    for w in workers:
        w.start()
    return workers

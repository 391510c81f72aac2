"""Local stand-ins for what AWS runs on its own: a ticker that fires the dunning sweep
(EventBridge) and a pump that long-polls the dispatch queue and feeds the consumer (the
SQS event source). Both are threads with .stop(); `local/run.py` starts them."""
from __future__ import annotations

import logging
import os
import threading

log = logging.getLogger("recoup.local")


class Ticker(threading.Thread):
    """Runs the sweep every `seconds` (RECOUP_TICK_SECONDS, default 30), and the daily
    forecast snapshots once per (possibly travelled) day."""

    def __init__(self, seconds: float) -> None:
        super().__init__(name="dunning-ticker", daemon=True)
        self.seconds = seconds
        self._stop_event = threading.Event()
        self._forecast_day = None

    def run(self) -> None:
        from chalicelib.kernel.clock import utcnow
        from chalicelib.dunning import sweep

        while not self._stop_event.is_set():
            now = utcnow()
            try:
                counts = sweep.sweep(now)
                if counts["due"]:
                    log.info("sweep: %s", counts)
            except Exception:  # noqa: BLE001 - the next tick tries again
                log.exception("sweep failed")
            self._daily(now)
            self._stop_event.wait(self.seconds)

    def _daily(self, now) -> None:
        """EventBridge's daily `forecast_snapshots` (reporting/jobs.py), locally."""
        if self._forecast_day == now.date():
            return
        from chalicelib.reporting import forecast

        try:
            log.info("forecast snapshots: %s", forecast.snapshot_all(now))
            self._forecast_day = now.date()
        except Exception:  # noqa: BLE001 - the next tick tries again
            log.exception("forecast snapshots failed")

    def stop(self) -> None:
        self._stop_event.set()
        self.join(timeout=5)


def drain_once(now=None, wait_seconds: int = 0) -> list[str]:
    """Receive one batch from the dispatch queue, run the consumer on each message and
    delete those that succeeded (failures come back after the visibility timeout, and go
    to the DLQ after max_receive tries, as on AWS)."""
    from chalicelib.kernel import adapters as wiring
    from chalicelib.dunning import dispatch
    from chalicelib.dunning.sweep import queue_url
    from chalicelib.kernel.clock import utcnow

    sqs, url = wiring.aws("sqs"), queue_url()
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10,
                              WaitTimeSeconds=wait_seconds).get("Messages", [])
    outcomes = []
    for m in got:
        try:
            # the same (possibly travelled: local.sweep) clock as the ticker and handlers
            outcomes.append(dispatch.handle(m["Body"], now if now is not None else utcnow()))
        except Exception:  # noqa: BLE001
            log.exception("dispatch failed; the message will be retried")
            outcomes.append("failed")
            continue
        sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    return outcomes


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
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto's request log
    resources.verify_senders(AGENCY)
    workers = [Ticker(float(os.environ.get("RECOUP_TICK_SECONDS", "30"))), Pump(),
               EventPump()]
    for w in workers:
        w.start()
    return workers

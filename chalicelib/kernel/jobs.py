"""Event delivery in AWS: the outbox table's DynamoDB stream invokes this function with new
outbox items; each pending event goes to its consumers (kernel/events.deliver). Failures
are reported per record (Powertools batch processing, ReportBatchItemFailures, set on the
event source mapping by infra), so only the failed records are retried; after the
mapping's retries a record goes to the events DLQ, which is alarmed."""
from __future__ import annotations

from chalice import Blueprint

from chalicelib.kernel.clock import utcnow
from chalicelib.kernel.naming import current_stage, stream_arn

bp = Blueprint(__name__)


@bp.on_dynamodb_record(stream_arn=stream_arn(current_stage(), "outbox"), batch_size=25,
                       name="event_delivery")
def event_delivery(event):
    return deliver_batch(event.to_dict())


def deliver_batch(raw_event: dict) -> dict:
    """{"batchItemFailures": [...]} for the records whose delivery failed."""
    from aws_lambda_powertools.utilities.batch import (
        BatchProcessor,
        EventType,
        process_partial_response,
    )

    from chalicelib.kernel import events

    now = utcnow()

    def record_handler(record) -> None:
        image = (record.raw_event.get("dynamodb") or {}).get("NewImage")
        if record.raw_event.get("eventName") == "INSERT" and image:
            events.deliver_record(image, now)

    processor = BatchProcessor(event_type=EventType.DynamoDBStreams)
    return process_partial_response(event=raw_event, record_handler=record_handler,
                                    processor=processor)

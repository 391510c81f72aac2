"""Scheduled and event-driven entry points: the sweep timer, the dispatch queue consumer,
and SNS feedback (SES bounces/complaints, inbound SMS). Each parses and calls a service."""
from __future__ import annotations

from chalice import Blueprint

from chalicelib.kernel.clock import utcnow
from chalicelib.kernel.settings import queue_name, topic_name

bp = Blueprint(__name__)


@bp.schedule("rate(5 minutes)", name="dunning_sweep")
def dunning_sweep(event):
    from chalicelib.dunning import sweep

    return sweep.sweep(utcnow())


@bp.schedule("rate(1 hour)", name="sender_check")
def sender_check(event):
    """Clients whose sender is not verified yet: ask SES again (held email resumes)."""
    from chalicelib.dunning import sender

    return {"checked": sender.check_unverified(utcnow())}


@bp.on_sqs_message(queue=queue_name("dispatch"), batch_size=10, name="dunning_dispatch")
def dunning_dispatch(event):
    from chalicelib.dunning import dispatch

    failed = dispatch.handle_batch([(r.body, r.receipt_handle) for r in event], utcnow())
    if failed:
        # Successes were deleted already; failing the invocation returns only the rest.
        raise dispatch.DispatchFailed(f"{len(failed)} of the batch failed; they will retry")
    return {"batchItemFailures": []}


@bp.on_sns_message(topic=topic_name("ses-feedback"), name="ses_feedback")
def ses_feedback(event):
    from chalicelib.dunning import feedback

    return feedback.ses_notification(event.message, utcnow())


@bp.on_sns_message(topic=topic_name("sms-inbound"), name="sms_inbound")
def sms_inbound(event):
    from chalicelib.dunning import feedback

    return feedback.sms_reply(event.message, utcnow())


@bp.lambda_function(name="ses_inbound")
def ses_inbound(event, context):
    """SES receiving: the receipt rule stored the MIME message in S3, then invokes this."""
    from chalicelib.dunning import inbound_email

    return inbound_email.ses_event(event, utcnow())

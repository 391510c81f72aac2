"""Create the non-table resources of infra/definitions.py on the local stack (and in tests):
queues with their DLQs, SNS feedback topics, verified SES sender domains."""
from __future__ import annotations

import json
import os

from chalicelib.settings import queue_name, topic_name
from infra.definitions import QUEUES, TOPICS


def provision() -> dict[str, str]:
    """Create queues with their DLQs; export their URLs as RECOUP_<NAME>_QUEUE_URL."""
    import boto3

    sqs = boto3.client("sqs")
    urls = {}
    for name, spec in QUEUES.items():
        dlq = sqs.create_queue(QueueName=queue_name(name) + "-dlq")["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])[
            "Attributes"]["QueueArn"]
        url = sqs.create_queue(QueueName=queue_name(name), Attributes={
            "VisibilityTimeout": str(spec["visibility_timeout"]),
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn,
                                         "maxReceiveCount": str(spec["max_receive"])}),
        })["QueueUrl"]
        urls[name] = url
        os.environ[f"RECOUP_{name.upper()}_QUEUE_URL"] = url
    sns = boto3.client("sns")
    for name in TOPICS:
        sns.create_topic(Name=topic_name(name))
    return urls


def verify_sender(address: str) -> None:
    """SES (and moto) refuse to send from an unverified identity: verify its domain."""
    import boto3

    boto3.client("ses").verify_domain_identity(Domain=address.split("@", 1)[-1])


def verify_senders(agency_id: str) -> int:
    """Verify every client sender of an agency (local stack after seeding)."""
    from chalicelib.store.models import ClientModel

    n = 0
    for c in ClientModel.query(agency_id):
        verify_sender(c.sender_email)
        n += 1
    return n

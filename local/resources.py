"""Create the non-table resources of infra/definitions.py on the local stack."""
from __future__ import annotations

import os

from infra.definitions import QUEUES


def queue_name(name: str) -> str:
    stage = os.environ.get("RECOUP_STAGE", "local")
    return f"recoup-{stage}-{name}"


def provision() -> dict[str, str]:
    """Create queues with their DLQs; export their URLs as RECOUP_<NAME>_QUEUE_URL."""
    import boto3

    sqs = boto3.client("sqs")
    urls = {}
    for name, spec in QUEUES.items():
        dlq = sqs.create_queue(QueueName=queue_name(name) + "-dlq")["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])[
            "Attributes"]["QueueArn"]
        import json

        url = sqs.create_queue(QueueName=queue_name(name), Attributes={
            "VisibilityTimeout": str(spec["visibility_timeout"]),
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn,
                                         "maxReceiveCount": str(spec["max_receive"])}),
        })["QueueUrl"]
        urls[name] = url
        os.environ[f"RECOUP_{name.upper()}_QUEUE_URL"] = url
    return urls

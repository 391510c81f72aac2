"""Create the non-table resources of infra/definitions.py on the local stack (and in tests):
queues with their DLQs, SNS feedback topics, the inbound mail bucket, verified SES sender
domains."""
from __future__ import annotations

import json
import os

from infra.definitions import QUEUES, TOPICS, env_name, resource_name


def queue_name(name: str) -> str:
    return resource_name(os.environ.get("RECOUP_STAGE", "local"), name)


def provision() -> dict[str, str]:
    """Create queues with their DLQs (RECOUP_<NAME>_QUEUE_URL) and topics
    (RECOUP_<NAME>_TOPIC_ARN), as the CloudFormation template declares them."""
    import boto3

    sqs = boto3.client("sqs")
    urls = {}
    for name, spec in QUEUES.items():
        dlq = sqs.create_queue(QueueName=queue_name(name) + "-dlq", Attributes={
            "MessageRetentionPeriod": str(spec.get("dlq_retention_seconds", 14 * 86400)),
        })["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])[
            "Attributes"]["QueueArn"]
        url = sqs.create_queue(QueueName=queue_name(name), Attributes={
            "VisibilityTimeout": str(spec["visibility_timeout"]),
            "MessageRetentionPeriod": str(spec.get("retention_seconds", 4 * 86400)),
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn,
                                         "maxReceiveCount": str(spec["max_receive"])}),
        })["QueueUrl"]
        urls[name] = url
        os.environ[env_name(name, "queue_url")] = url
    sns = boto3.client("sns")
    for name in TOPICS:
        arn = sns.create_topic(Name=queue_name(name))["TopicArn"]
        os.environ[env_name(name, "topic_arn")] = arn
    provision_inbound()
    return urls


def provision_inbound() -> str:
    """The inbound mail bucket (RECOUP_INBOUND_BUCKET), named as the template names it."""
    import boto3

    from infra.definitions import inbound_bucket

    account = boto3.client("sts").get_caller_identity()["Account"]
    name = inbound_bucket(os.environ.get("RECOUP_STAGE", "local"), account)
    s3 = boto3.client("s3")
    region = s3.meta.region_name
    try:
        s3.create_bucket(Bucket=name, **({} if region == "us-east-1" else {
            "CreateBucketConfiguration": {"LocationConstraint": region}}))
    except s3.exceptions.BucketAlreadyOwnedByYou:
        pass  # provisioned again on the same stack
    os.environ["RECOUP_INBOUND_BUCKET"] = name
    return name


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

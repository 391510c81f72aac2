"""The local stack's SQS speedup (local/moto_speedups.install_sqs) counts and hands out
messages exactly as moto's own per-message `visible` / `delayed` properties say: visible,
in flight and delayed messages, and none past the queue's retention period."""
from __future__ import annotations

import boto3
from moto import mock_aws

from local import moto_speedups

COUNTS = ("ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible",
          "ApproximateNumberOfMessagesDelayed")


def _moto_says(queue) -> dict[str, str]:
    """The three counts from moto's own Message properties, message by message."""
    ms = queue._messages
    return {"ApproximateNumberOfMessages": str(sum(m.visible and not m.delayed for m in ms)),
            "ApproximateNumberOfMessagesNotVisible": str(sum(not m.visible for m in ms)),
            "ApproximateNumberOfMessagesDelayed": str(sum(m.delayed for m in ms))}


def test_counts_and_receives_match_moto_message_by_message():
    moto_speedups.install_sqs()
    with mock_aws():
        from moto.core import DEFAULT_ACCOUNT_ID
        from moto.sqs.models import sqs_backends

        sqs = boto3.client("sqs", region_name="eu-west-2")
        url = sqs.create_queue(QueueName="counts")["QueueUrl"]
        queue = sqs_backends[DEFAULT_ACCOUNT_ID]["eu-west-2"].queues["counts"]
        for n in range(12):  # two of them delayed
            sqs.send_message(QueueUrl=url, MessageBody=f"m{n}",
                             DelaySeconds=300 if n in (4, 9) else 0)

        def counts() -> dict[str, str]:
            got = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
            return {k: got[k] for k in COUNTS}

        assert counts() == _moto_says(queue) == {
            "ApproximateNumberOfMessages": "10", "ApproximateNumberOfMessagesNotVisible": "0",
            "ApproximateNumberOfMessagesDelayed": "2"}
        # three taken into flight (hidden for 5 minutes), two received and let go at once
        taken = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=3,
                                    VisibilityTimeout=300)["Messages"]
        sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=2, VisibilityTimeout=0)
        assert len(taken) == 3
        assert counts() == _moto_says(queue)
        assert counts()["ApproximateNumberOfMessagesNotVisible"] == "3"
        # a receive hands out only visible, undelayed messages, each once
        rest = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10,
                                   VisibilityTimeout=300)["Messages"]
        bodies = {m["Body"] for m in taken} | {m["Body"] for m in rest}
        assert len(rest) == 7 and len(bodies) == 10 and not bodies & {"m4", "m9"}
        assert counts() == _moto_says(queue)


def test_a_message_past_the_retention_period_is_not_handed_out():
    moto_speedups.install_sqs()
    with mock_aws():
        from moto.core import DEFAULT_ACCOUNT_ID
        from moto.sqs.models import sqs_backends

        sqs = boto3.client("sqs", region_name="eu-west-2")
        url = sqs.create_queue(QueueName="kept",
                               Attributes={"MessageRetentionPeriod": "60"})["QueueUrl"]
        sqs.send_message(QueueUrl=url, MessageBody="old")
        [message] = sqs_backends[DEFAULT_ACCOUNT_ID]["eu-west-2"].queues["kept"]._messages
        message.sent_timestamp -= 120_000  # sent two minutes ago: past its 60 s
        assert sqs.receive_message(QueueUrl=url).get("Messages", []) == []
        # (moto hid the expired one for the queue's visibility timeout when it looked at it)
        sqs.send_message(QueueUrl=url, MessageBody="new")
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        assert [m["Body"] for m in got] == ["new"]

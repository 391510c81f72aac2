"""Resources beyond the tables (queues, topics, schedules): the one definition used by the
local stack, the tests and the CloudFormation template. Tables come from the PynamoDB
models in chalicelib/store."""
from __future__ import annotations

# name -> settings. Visibility timeouts exceed the consuming Lambda's timeout (x6 as AWS
# advises for SQS event sources); poison messages go to the DLQ after max_receive tries.
QUEUES: dict[str, dict] = {
    "dispatch": {"visibility_timeout": 360, "max_receive": 5, "consumer_timeout": 60},
}

# SNS topics the feedback handlers subscribe to: SES bounce/complaint notifications (set as
# the identities' notification topic) and two-way SMS inbound messages.
TOPICS: dict[str, dict] = {
    "ses-feedback": {"subscribes": "ses_feedback"},
    "sms-inbound": {"subscribes": "sms_inbound"},
}
SCHEDULES: dict[str, str] = {"dunning_sweep": "rate(5 minutes)"}

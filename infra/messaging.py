"""Queues with their DLQs, SNS topics and the SES configuration set, from infra/definitions."""
from __future__ import annotations

from infra.definitions import (
    EVENT_DELIVERY,
    QUEUES,
    SES_CONFIGURATION_SET,
    TOPICS,
    resource_name,
)
from infra.tables import logical_id


def queue_id(name: str) -> str:
    return logical_id(name, "Queue")


def dlq_id(name: str) -> str:
    return logical_id(name, "DeadLetterQueue")


def topic_id(name: str) -> str:
    return logical_id(name, "Topic")


SES_CONFIG_SET_ID = "MailConfigurationSet"
TOPICS_KEY_ID = "TopicsKey"
# Services that publish to our topics. They cannot use the AWS-managed aws/sns key (its
# policy cannot grant them), so the topics are encrypted with this customer-managed key.
PUBLISHING_SERVICES = ["ses.amazonaws.com", "cloudwatch.amazonaws.com",
                       "sms-voice.amazonaws.com"]


def _topics_key() -> dict:
    return {"Type": "AWS::KMS::Key", "Properties": {
        "Description": "Encrypts Recoup's SNS topics (SES feedback, SMS replies, alerts)",
        "EnableKeyRotation": True,
        "KeyPolicy": {"Version": "2012-10-17", "Statement": [
            {"Sid": "AccountAdministers", "Effect": "Allow",
             "Principal": {"AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}},
             "Action": "kms:*", "Resource": "*"},
            {"Sid": "PublishingServicesEncrypt", "Effect": "Allow",
             "Principal": {"Service": PUBLISHING_SERVICES},
             "Action": ["kms:GenerateDataKey*", "kms:Decrypt"], "Resource": "*",
             "Condition": {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}},
        ]},
    }}


def queue_resources(stage: str) -> dict[str, dict]:
    out: dict[str, dict] = {}
    for name, spec in QUEUES.items():
        out[dlq_id(name)] = {"Type": "AWS::SQS::Queue", "Properties": {
            "QueueName": resource_name(stage, name) + "-dlq",
            "MessageRetentionPeriod": spec.get("dlq_retention_seconds", 14 * 86400),
            "SqsManagedSseEnabled": True,
        }}
        out[queue_id(name)] = {"Type": "AWS::SQS::Queue", "Properties": {
            "QueueName": resource_name(stage, name),
            "VisibilityTimeout": spec["visibility_timeout"],
            "MessageRetentionPeriod": spec.get("retention_seconds", 4 * 86400),
            "SqsManagedSseEnabled": True,
            "RedrivePolicy": {"deadLetterTargetArn": {"Fn::GetAtt": [dlq_id(name), "Arn"]},
                              "maxReceiveCount": spec["max_receive"]},
        }}
    name = EVENT_DELIVERY["dlq"]
    out[dlq_id(name)] = {"Type": "AWS::SQS::Queue", "Properties": {
        "QueueName": resource_name(stage, name) + "-dlq",
        "MessageRetentionPeriod": EVENT_DELIVERY["dlq_retention_seconds"],
        "SqsManagedSseEnabled": True,
    }}
    return out


def topic_resources(stage: str) -> dict[str, dict]:
    out: dict[str, dict] = {TOPICS_KEY_ID: _topics_key()}
    for name in TOPICS:
        out[topic_id(name)] = {"Type": "AWS::SNS::Topic", "Properties": {
            "TopicName": resource_name(stage, name),
            "KmsMasterKeyId": {"Ref": TOPICS_KEY_ID},
        }}
    feedback = SES_CONFIGURATION_SET["feedback_topic"]
    # SES (and, for two-way SMS, the messaging service) must be allowed to publish.
    out[topic_id(feedback) + "Policy"] = {"Type": "AWS::SNS::TopicPolicy", "Properties": {
        "Topics": [{"Ref": topic_id(feedback)}],
        "PolicyDocument": {"Version": "2012-10-17", "Statement": [{
            "Sid": "SesPublishes", "Effect": "Allow",
            "Principal": {"Service": "ses.amazonaws.com"},
            "Action": "sns:Publish", "Resource": {"Ref": topic_id(feedback)},
            "Condition": {"StringEquals": {"AWS:SourceAccount": {"Ref": "AWS::AccountId"}}},
        }]},
    }}
    out[topic_id("sms-inbound") + "Policy"] = {"Type": "AWS::SNS::TopicPolicy", "Properties": {
        "Topics": [{"Ref": topic_id("sms-inbound")}],
        "PolicyDocument": {"Version": "2012-10-17", "Statement": [{
            "Sid": "SmsVoicePublishes", "Effect": "Allow",
            "Principal": {"Service": "sms-voice.amazonaws.com"},
            "Action": "sns:Publish", "Resource": {"Ref": topic_id("sms-inbound")},
            "Condition": {"StringEquals": {"AWS:SourceAccount": {"Ref": "AWS::AccountId"}}},
        }]},
    }}
    return out


def ses_resources(stage: str) -> dict[str, dict]:
    spec = SES_CONFIGURATION_SET
    return {
        SES_CONFIG_SET_ID: {"Type": "AWS::SES::ConfigurationSet", "Properties": {
            "Name": resource_name(stage, spec["name"]),
            "ReputationOptions": {"ReputationMetricsEnabled": True},
            "SendingOptions": {"SendingEnabled": True},
        }},
        SES_CONFIG_SET_ID + "Feedback": {
            "Type": "AWS::SES::ConfigurationSetEventDestination",
            "DependsOn": [topic_id(spec["feedback_topic"]) + "Policy"],
            "Properties": {
                "ConfigurationSetName": {"Ref": SES_CONFIG_SET_ID},
                "EventDestination": {
                    "Name": "feedback-to-sns", "Enabled": True,
                    "MatchingEventTypes": spec["events"],
                    "SnsDestination": {"TopicARN": {"Ref": topic_id(spec["feedback_topic"])}},
                },
            }},
        # The agency's own sending domain (optional parameter): Easy DKIM, feedback via the
        # configuration set. Client domains are added the same way, by CLI (README).
        "SenderDomainIdentity": {
            "Type": "AWS::SES::EmailIdentity", "Condition": "HasSenderDomain",
            "Properties": {
                "EmailIdentity": {"Ref": "SenderDomain"},
                "ConfigurationSetAttributes": {"ConfigurationSetName": {"Ref": SES_CONFIG_SET_ID}},
                "DkimSigningAttributes": {"NextSigningKeyLength": "RSA_2048_BIT"},
                "FeedbackAttributes": {"EmailForwardingEnabled": False},
            }},
    }


def ses_outputs() -> dict[str, dict]:
    """The three DKIM CNAME records to publish in the sender domain's DNS."""
    out = {}
    for i in (1, 2, 3):
        out[f"DkimRecord{i}"] = {"Condition": "HasSenderDomain", "Value": {"Fn::Join": [" ", [
            {"Fn::GetAtt": ["SenderDomainIdentity", f"DkimDNSTokenName{i}"]}, "CNAME",
            {"Fn::GetAtt": ["SenderDomainIdentity", f"DkimDNSTokenValue{i}"]}]]}}
    return out

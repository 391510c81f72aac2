"""Least-privilege IAM policy documents per stage and function, from the same definitions.

Written to .chalice/policy-<stage>[-<function>].json (Chalice `autogen_policy: false`).
ARNs use Fn::Sub, so they resolve in the CloudFormation stack `chalice package` produces.
"""
from __future__ import annotations

from infra.definitions import (
    EVENT_DELIVERY, FUNCTIONS, QUEUES, SECRETS, SES_CONFIGURATION_SET, TOPICS, resource_name,
    secret_parameter,
)

TABLE_WRITE = ["dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem",
               "dynamodb:BatchWriteItem"]
# No Scan: nothing in the system reads a whole table.
TABLE_READ = ["dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query",
              "dynamodb:ConditionCheckItem", "dynamodb:DescribeTable"]
STREAM_READ = ["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator",
               "dynamodb:ListStreams"]
QUEUE_SEND = ["sqs:SendMessage", "sqs:GetQueueUrl", "sqs:GetQueueAttributes"]
QUEUE_CONSUME = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility",
                 "sqs:GetQueueAttributes", "sqs:GetQueueUrl"]
# Publishing an SMS to a phone number has no resource ARN: this statement is the one
# documented exception to "no * on data actions", and only consumers get it.
SMS_SID = "SmsToPhoneNumbersHasNoResourceArn"


def _arn(service: str, resource: str) -> dict:
    return {"Fn::Sub": f"arn:${{AWS::Partition}}:{service}:${{AWS::Region}}:${{AWS::AccountId}}:"
                       f"{resource}"}


def _tables(stage: str) -> list[tuple[str, list[str], bool]]:
    """(full table name, index names, has stream) for every model."""
    from chalicelib.tables import ALL_MODELS
    from infra.tables import logical_name, stream_view

    return [(resource_name(stage, logical_name(m)), sorted(m._indexes), bool(stream_view(m)))
            for m in ALL_MODELS]


def _table_statements(stage: str, mode: str, streams: bool) -> list[dict]:
    tables = _tables(stage)
    resources = []
    for name, indexes, _ in tables:
        resources.append(_arn("dynamodb", f"table/{name}"))
        resources += [_arn("dynamodb", f"table/{name}/index/{i}") for i in indexes]
    actions = TABLE_READ + (TABLE_WRITE if mode == "rw" else [])
    out = [{"Sid": "Tables", "Effect": "Allow", "Action": actions, "Resource": resources}]
    streamed = [_arn("dynamodb", f"table/{n}/stream/*") for n, _, s in tables if s]
    if streams and streamed:
        out.append({"Sid": "TableStreams", "Effect": "Allow", "Action": STREAM_READ,
                    "Resource": streamed})
    return out


def _statements(stage: str, spec: dict) -> list[dict]:
    out: list[dict] = [{
        "Sid": "Logs", "Effect": "Allow",
        "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
        # CloudFormation names the functions <stack>-<LogicalId>-<suffix>
        "Resource": _arn("logs", "log-group:/aws/lambda/${AWS::StackName}-*"),
    }]
    if spec.get("tables"):
        out += _table_statements(stage, spec["tables"], spec.get("streams", False))
    if spec.get("send_queues"):
        out.append({"Sid": "SendQueues", "Effect": "Allow", "Action": QUEUE_SEND,
                    "Resource": [_arn("sqs", resource_name(stage, q))
                                 for q in spec["send_queues"]]})
    if spec.get("consume_queues"):
        out.append({"Sid": "ConsumeQueues", "Effect": "Allow", "Action": QUEUE_CONSUME,
                    "Resource": [_arn("sqs", resource_name(stage, q))
                                 for q in spec["consume_queues"]]})
    if spec.get("email"):
        # Sender identities are verified per client at run time; the configuration set
        # is fixed, and every send must name it (SES checks both resources).
        out.append({"Sid": "SendEmail", "Effect": "Allow",
                    "Action": ["ses:SendEmail", "ses:SendRawEmail"],
                    "Resource": [_arn("ses", "identity/*"), _arn(
                        "ses", "configuration-set/"
                        + resource_name(stage, SES_CONFIGURATION_SET["name"]))]})
    if spec.get("publish_topics"):
        out.append({"Sid": "PublishTopics", "Effect": "Allow", "Action": ["sns:Publish"],
                    "Resource": [_arn("sns", resource_name(stage, t))
                                 for t in spec["publish_topics"]]})
        out.append({"Sid": "EncryptForTopics", "Effect": "Allow",
                    "Action": ["kms:GenerateDataKey", "kms:Decrypt"],
                    "Resource": {"Fn::GetAtt": ["TopicsKey", "Arn"]}})
    if spec.get("sms"):
        out.append({"Sid": SMS_SID, "Effect": "Allow",
                    "Action": ["sns:Publish", "sns:CheckIfPhoneNumberIsOptedOut"],
                    "Resource": "*"})
    if spec.get("inbound_mail"):
        from infra.inbound import inbound_policy_statements

        out += inbound_policy_statements(stage)
    if spec.get("secrets"):
        out.append({"Sid": "ReadSecrets", "Effect": "Allow", "Action": ["ssm:GetParameter"],
                    "Resource": [_arn("ssm", "parameter" + secret_parameter(stage, s))
                                 for s in spec["secrets"]]})
    return out


def default_spec() -> dict:
    """The stage's default role: what any function not listed in FUNCTIONS may need."""
    # the events DLQ: event delivery's stream mapping sends records that keep failing there
    return {"tables": "rw", "streams": True,
            "send_queues": [*QUEUES, EVENT_DELIVERY["dlq"] + "-dlq"],
            "consume_queues": list(QUEUES), "email": True, "sms": True,
            "publish_topics": [t for t in TOPICS if t != "alerts"], "secrets": list(SECRETS),
            "inbound_mail": True}  # jobs.ses_inbound: read replies, keep attachments


def policy(stage: str, function: str | None = None) -> dict:
    spec = default_spec() if function is None else FUNCTIONS[function]
    return {"Version": "2012-10-17", "Statement": _statements(stage, spec)}


def policy_filename(stage: str, function: str | None = None) -> str:
    return f"policy-{stage}.json" if function is None else f"policy-{stage}-{function}.json"


def all_policies(stage: str) -> dict[str, dict]:
    out = {policy_filename(stage): policy(stage)}
    for fn in FUNCTIONS:
        out[policy_filename(stage, fn)] = policy(stage, fn)
    return out

"""Resources beyond the tables (queues, topics, schedules, alarms, secrets, function access):
the one definition used by the local stack, the tests and the CloudFormation template.
Tables come from the PynamoDB models in chalicelib/store (ALL_MODELS)."""
from __future__ import annotations

from chalicelib.kernel.naming import APP, resource_name, stream_arn  # noqa: F401  (the naming rule)

STAGES = ("local", "dev", "prod")


def env_name(name: str, kind: str) -> str:
    """`dispatch`, `queue` -> RECOUP_DISPATCH_QUEUE_URL's stem (RECOUP_DISPATCH_QUEUE)."""
    return f"RECOUP_{name.upper().replace('-', '_')}_{kind.upper()}"


# name -> settings. Visibility timeouts exceed the consuming Lambda's timeout (x6 as AWS
# advises for SQS event sources); poison messages go to the DLQ after max_receive tries.
# The consumer is `@app.on_sqs_message(queue=resource_name(current_stage(), name))` (from
# chalicelib.kernel.naming: Lambda code cannot import infra/); infra.build gives it
# `lambda_timeout: consumer_timeout` in .chalice/config.json unless one is set.
QUEUES: dict[str, dict] = {
    "dispatch": {"visibility_timeout": 360, "max_receive": 5, "consumer_timeout": 60,
                 "retention_seconds": 4 * 86400, "dlq_retention_seconds": 14 * 86400},
}

# Durable events (chalicelib/kernel/events.py): the outbox table's stream feeds the
# `event_delivery` function, which reports partial batch failures; a record still failing
# after `max_retries` goes to the `events` DLQ (an SQS queue, alarmed like the others).
EVENT_DELIVERY: dict = {"table": "outbox", "function": "event_delivery", "max_retries": 5,
                        "dlq": "events", "dlq_retention_seconds": 14 * 86400}

# SNS topics that feed webhooks. Lambda gets RECOUP_<NAME>_TOPIC_ARN.
TOPICS: dict[str, dict] = {
    # SES bounce / complaint / delivery notifications, published by the configuration set.
    "ses-feedback": {"purpose": "SES bounces and complaints -> suppress the contact channel"},
    # Two-way SMS: replies (STOP, HELP, free text) land here (End User Messaging / SNS).
    "sms-inbound": {"purpose": "SMS replies -> opt-out, timeline"},
    # Where CloudWatch alarms go; subscribe an on-call address with the AlarmEmail parameter.
    "alerts": {"purpose": "CloudWatch alarm notifications"},
}

# One SES configuration set per stage (`recoup-<stage>-mail`): every send names it
# (RECOUP_SES_CONFIGURATION_SET), so bounces and complaints reach the ses-feedback topic.
SES_CONFIGURATION_SET = {
    "name": "mail",
    "feedback_topic": "ses-feedback",
    "events": ["bounce", "complaint", "reject", "renderingFailure"],
}

# SES receiving (chalicelib/dunning/inbound_email.py): one receipt rule set per stage
# (`recoup-<stage>-inbound`) whose rule, for the domains in the ReplyDomains template
# parameter, stores each reply's raw MIME at `<prefix><SES message id>` in the inbound
# bucket, then invokes `function` (which finds it there through RECOUP_INBOUND_BUCKET).
# Attachments are kept beside it under attachments/. Raw messages expire after
# raw_retention_days (the reply itself is on the timeline); attachments are kept.
INBOUND_MAIL: dict = {"bucket": "inbound", "prefix": "inbound/", "attachments": "attachments/",
                      "rule_set": "inbound", "rule": "replies", "function": "ses_inbound",
                      "raw_retention_days": 90}


def inbound_bucket(stage: str, account_id: str = "${AWS::AccountId}") -> str:
    """S3 names are global: `recoup-<stage>-inbound-<account id>` (a Fn::Sub pattern in
    the template; the local stack passes moto's account id)."""
    return f"{resource_name(stage, INBOUND_MAIL['bucket'])}-{account_id}"


# Chalice creates the EventBridge rules itself from `@app.schedule("rate(5 minutes)")`; the
# rates are written down here for the local ticker and the cost model (Lambda code cannot
# import infra/, so handlers repeat the expression).
SCHEDULES: dict[str, str] = {
    "dunning-sweep": "rate(5 minutes)",
    "payments-reconcile": "rate(1 hour)",
}

# Secrets live in SSM Parameter Store (SecureString, created by the operator, never in the
# repo). settings._secret reads the parameter named by `<NAME>_PARAM`.
SECRETS: tuple[str, ...] = (
    "RECOUP_JWT_SECRET", "RECOUP_LINK_SECRET", "STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET",
)


def secret_parameter(stage: str, secret: str) -> str:
    """RECOUP_JWT_SECRET -> /recoup/prod/recoup-jwt-secret"""
    return f"/{APP}/{stage}/{secret.lower().replace('_', '-')}"


# Table options the models do not carry. Streams feed the reporting consumer (aggregates
# maintained as money and touches happen); TTL is taken from a model's TTLAttribute.
TABLE_OPTIONS: dict[str, dict] = {
    "outbox": {"stream": "NEW_IMAGE"},  # durable events -> kernel/jobs.event_delivery
    "invoices": {"stream": "NEW_AND_OLD_IMAGES"},
    "payments": {"stream": "NEW_AND_OLD_IMAGES"},
    "timeline": {"stream": "NEW_IMAGE"},
}

# What each Lambda may touch (least privilege). Chalice function names; a function not listed
# runs under the stage's default role, which is the union of everything below plus queue
# consumption and SMS sending. tables: "rw" | "r"; secrets: names from SECRETS.
FUNCTIONS: dict[str, dict] = {
    "api_handler": {"tables": "rw", "send_queues": ["dispatch"],
                    "secrets": ["RECOUP_JWT_SECRET", "RECOUP_LINK_SECRET", "STRIPE_SECRET_KEY",
                                "STRIPE_WEBHOOK_SECRET"],
                    "email": True},
    "bearer": {"tables": None, "secrets": ["RECOUP_JWT_SECRET", "RECOUP_LINK_SECRET"]},
}

# CloudWatch alarms; all notify the `alerts` topic.
ALARMS: dict[str, dict] = {
    # any message in any DLQ: a touch or webhook that failed max_receive times
    "dlq_depth": {"threshold": 1},
    # Lambda errors / invocations over 5 minutes, per function
    "error_rate": {"threshold": 0.05, "period": 300},
    # SES reviews an account at 5% bounces / 0.1% complaints: warn well before
    "ses_bounce_rate": {"threshold": 0.03},
    "ses_complaint_rate": {"threshold": 0.0005},
    # SNS SMS month-to-date spend (USD); the template parameter overrides the default
    "sms_spend": {"threshold": 80},
    # API Gateway 5XX over 5 minutes
    "api_5xx": {"threshold": 5, "period": 300},
}


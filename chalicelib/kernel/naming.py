"""Names of the stage's AWS resources, for handler decorators (deployed with the Lambda code;
infra/ is not, so Lambda code imports these from here, never from infra)."""
from __future__ import annotations

import os

APP = "recoup"


# Stages that run on the embedded local stack (moto, local checkout, outbox). Never deployed:
# dev and prod are the deployed stages, and nothing local is reachable in them.
LOCAL_STAGES = frozenset({"local", "test", "bench"})


def current_stage() -> str:
    return os.environ.get("RECOUP_STAGE", "local")


def is_local_stage(stage: str | None = None) -> bool:
    """True only in the local, test and bench stages: decided by the stage, never by a
    missing secret."""
    return (current_stage() if stage is None else stage) in LOCAL_STAGES


def resource_name(stage: str, name: str) -> str:
    """The one naming rule: tables, queues, topics and the SES configuration set are all
    `recoup-<stage>-<name>` (settings.table_prefix agrees; a test checks)."""
    return f"{APP}-{stage}-{name}"


def stream_arn(stage: str, table: str) -> str:
    """For `@app.on_dynamodb_record(stream_arn=stream_arn(current_stage(), "invoices"))`: the
    real ARN exists only once the table does; infra.build swaps this for its StreamArn."""
    table_name = resource_name(stage, table)
    return f"arn:aws:dynamodb:eu-west-2:000000000000:table/{table_name}/stream/from-stack"

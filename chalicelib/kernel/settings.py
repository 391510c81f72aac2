"""Settings read from the environment once: table names, queues, stage, secrets."""
from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache


@dataclass(frozen=True)
class Settings:
    stage: str
    region: str
    table_prefix: str
    jwt_secret: str
    link_secret: str
    public_base_url: str
    dispatch_queue_url: str
    sweep_shards: int

    def table(self, name: str) -> str:
        return f"{self.table_prefix}{name}"


def _secret(name: str, stage: str) -> str:
    """Secrets come from the environment locally, from SSM Parameter Store in AWS.

    In AWS the environment holds `<NAME>_PARAM` (an SSM parameter name); the value is
    fetched once per container.
    """
    value = os.environ.get(name)
    if value:
        return value
    param = os.environ.get(f"{name}_PARAM")
    if param:
        from chalicelib.kernel import adapters

        ssm = adapters.aws("ssm")
        return ssm.get_parameter(Name=param, WithDecryption=True)["Parameter"]["Value"]
    from chalicelib.kernel.naming import is_local_stage

    if is_local_stage(stage):
        return f"insecure-{stage}-only-{name.lower()}-not-for-production"
    raise RuntimeError(f"secret {name} is not configured (set {name} or {name}_PARAM)")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    stage = os.environ.get("RECOUP_STAGE", "local")
    return Settings(
        stage=stage,
        region=os.environ.get("AWS_DEFAULT_REGION", "eu-west-2"),
        table_prefix=os.environ.get("RECOUP_TABLE_PREFIX", f"recoup-{stage}-"),
        jwt_secret=_secret("RECOUP_JWT_SECRET", stage),
        link_secret=_secret("RECOUP_LINK_SECRET", stage),
        public_base_url=os.environ.get("RECOUP_PUBLIC_URL", "http://localhost:8000"),
        dispatch_queue_url=os.environ.get("RECOUP_DISPATCH_QUEUE_URL", ""),
        sweep_shards=int(os.environ.get("RECOUP_SWEEP_SHARDS", "8")),
    )


def table_prefix() -> str:
    """Read at model definition time (PynamoDB needs table names on the class)."""
    stage = os.environ.get("RECOUP_STAGE", "local")
    return os.environ.get("RECOUP_TABLE_PREFIX", f"recoup-{stage}-")


def region() -> str:
    return os.environ.get("AWS_DEFAULT_REGION", "eu-west-2")


def queue_name(name: str) -> str:
    """A queue's name for this stage (the consumer's decorator needs it at import time)."""
    from chalicelib.kernel.naming import current_stage, resource_name

    return resource_name(current_stage(), name)


def topic_name(name: str) -> str:
    return queue_name(name)

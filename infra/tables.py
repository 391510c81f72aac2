"""PynamoDB models -> AWS::DynamoDB::Table: the models are the table definitions."""
from __future__ import annotations

from pynamodb.attributes import TTLAttribute
from pynamodb.models import Model

from infra.definitions import TABLE_OPTIONS, resource_name


def logical_name(model: type[Model]) -> str:
    """`recoup-test-invoices` -> `invoices` (the model's name is fixed at import time)."""
    from chalicelib.kernel.settings import table_prefix

    full = model.Meta.table_name
    prefix = table_prefix()
    return full[len(prefix):] if full.startswith(prefix) else full


def logical_id(name: str, suffix: str) -> str:
    return "".join(p.capitalize() for p in name.replace("_", "-").split("-")) + suffix


def ttl_attribute(model: type[Model]) -> str | None:
    for attr_name, attr in model.get_attributes().items():
        if isinstance(attr, TTLAttribute):
            return attr.attr_name or attr_name
    return None


def stream_view(model: type[Model]) -> str | None:
    name = logical_name(model)
    return TABLE_OPTIONS.get(name, {}).get("stream") or getattr(
        model.Meta, "stream_view_type", None)


def _key_schema(keys: list[dict]) -> list[dict]:
    # HASH first, as CloudFormation and DescribeTable list them
    return sorted(({"AttributeName": k["AttributeName"], "KeyType": k["KeyType"]} for k in keys),
                  key=lambda k: k["KeyType"] != "HASH")


def _projection(p: dict) -> dict:
    out = {"ProjectionType": p["ProjectionType"]}
    if p.get("NonKeyAttributes"):
        out["NonKeyAttributes"] = list(p["NonKeyAttributes"])
    return out


def table_resource(model: type[Model], stage: str) -> dict:
    schema = model._get_schema()
    definitions = {d["AttributeName"]: d["AttributeType"]
                   for d in schema["attribute_definitions"]}
    props: dict = {
        "TableName": resource_name(stage, logical_name(model)),
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [{"AttributeName": n, "AttributeType": t}
                                 for n, t in sorted(definitions.items())],
        "KeySchema": _key_schema(schema["key_schema"]),
        "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
        "SSESpecification": {"SSEEnabled": True},
        "Tags": [{"Key": "app", "Value": "recoup"}, {"Key": "stage", "Value": stage}],
    }
    gsis = [{"IndexName": i["index_name"], "KeySchema": _key_schema(i["key_schema"]),
             "Projection": _projection(i["projection"])}
            for i in schema["global_secondary_indexes"]]
    lsis = [{"IndexName": i["index_name"], "KeySchema": _key_schema(i["key_schema"]),
             "Projection": _projection(i["projection"])}
            for i in schema["local_secondary_indexes"]]
    if gsis:
        props["GlobalSecondaryIndexes"] = gsis
    if lsis:
        props["LocalSecondaryIndexes"] = lsis
    view = stream_view(model)
    if view:
        props["StreamSpecification"] = {"StreamViewType": view}
    ttl = ttl_attribute(model)
    if ttl:
        props["TimeToLiveSpecification"] = {"AttributeName": ttl, "Enabled": True}
    # Data outlives a stack: prod tables survive `delete-stack` and replacements.
    policy = "Retain" if stage == "prod" else "Delete"
    return {"Type": "AWS::DynamoDB::Table", "DeletionPolicy": policy,
            "UpdateReplacePolicy": policy, "Properties": props}


def table_resources(stage: str) -> dict[str, dict]:
    from chalicelib.tables import ALL_MODELS

    return {logical_id(logical_name(m), "Table"): table_resource(m, stage) for m in ALL_MODELS}

"""The local stack's counter fast path (local/moto_speedups.update_counters) stores what
moto's own UpdateItem stores and refuses what it refuses: the same random mix of ADDs
(new items, existing ones, conditions that hold or fail, decimals and negatives, a string
attribute, a repeated attribute, an unused value) run with and without it end identical."""
from __future__ import annotations

import contextlib
import random

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from local import moto_speedups

TABLE = "counters_test"


def _table(client) -> None:
    client.create_table(
        TableName=TABLE, BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": n, "AttributeType": "S"} for n in ("pk", "sk")],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"},
                   {"AttributeName": "sk", "KeyType": "RANGE"}])


def _ops(seed: int) -> list[dict]:
    rnd = random.Random(seed)
    ops = []
    for _ in range(300):
        key = {"pk": {"S": "c1"}, "sk": {"S": f"agg#{rnd.randint(0, 6)}"}}
        attrs = rnd.sample(["o#2026-11", "n", "v", "total", "late", "s"], rnd.randint(1, 4))
        values = {f":v{i}": {"N": rnd.choice(["1", "-3", "250", "0.5", "-0.25", "12"])}
                  for i in range(len(attrs))}
        names = {f"#a{i}": a for i, a in enumerate(attrs)}
        op = {"TableName": TABLE, "Key": key,
              "UpdateExpression": "ADD " + ", ".join(f"#a{i} :v{i}" for i in range(len(attrs))),
              "ExpressionAttributeNames": names, "ExpressionAttributeValues": values}
        kind = rnd.randrange(10)
        if kind == 0:
            op["ConditionExpression"] = "attribute_not_exists(#rv)"
            names["#rv"] = "v"
        elif kind == 1:
            op["ConditionExpression"] = "#rv = :rv"
            names["#rv"] = "v"
            values[":rv"] = {"N": str(rnd.randint(0, 3))}
        elif kind == 2:  # an unused value: DynamoDB refuses it
            values[":spare"] = {"N": "1"}
        elif kind == 3:  # the same attribute twice: refused
            op["UpdateExpression"] += ", #a0 :v0"
        elif kind == 4:  # a string put in one of the counters, later ADDed to: refused
            op = {"TableName": TABLE, "Key": key, "UpdateExpression": "SET #s = :s",
                  "ExpressionAttributeNames": {"#s": "s"},
                  "ExpressionAttributeValues": {":s": {"S": "text"}}}
        ops.append(op)
    return ops


@contextlib.contextmanager
def _stack(fast: bool):
    """A fresh mocked table, with the counter fast path on or off (moto's own UpdateItem)."""
    moto_speedups.install()
    moto_speedups.COUNTERS_ENABLED = fast
    try:
        with mock_aws():
            client = boto3.client("dynamodb", region_name="eu-west-2")
            _table(client)
            yield client
    finally:
        moto_speedups.COUNTERS_ENABLED = True


def _update(client, op: dict) -> str:
    try:
        client.update_item(**op)
        return "ok"
    except ClientError as exc:
        return exc.response["Error"]["Code"]


def _run(ops: list[dict], fast: bool) -> tuple[list, list]:
    with _stack(fast) as client:
        outcomes = [_update(client, op) for op in ops]
        items = client.scan(TableName=TABLE)["Items"]
        return outcomes, sorted(items, key=lambda i: i["sk"]["S"])


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_counter_updates_store_and_refuse_what_moto_does(seed):
    ops = _ops(seed)
    fast, slow = _run(ops, True), _run(ops, False)
    assert fast[0] == slow[0]
    assert fast[1] == slow[1]
    # the mix really exercised both outcomes and both kinds of refusal
    assert "ok" in fast[0] and "ConditionalCheckFailedException" in fast[0]
    assert "ValidationException" in fast[0]


def test_the_fast_path_is_taken_for_counters(monkeypatch):
    taken = []
    real = moto_speedups._plain_add

    def spy(*a, **k):
        out = real(*a, **k)
        taken.append(out is not None)
        return out

    monkeypatch.setattr(moto_speedups, "_plain_add", spy)
    _run(_ops(4)[:50], True)
    assert any(taken) and not all(taken)


def test_an_item_at_the_size_limit_is_refused_as_moto_refuses_it_and_reads_its_size():
    """Counter ADDs on an item near DynamoDB's 400 KB limit: the one that would take it over
    is refused as moto refuses it, and the size kept for the item after each ADD is what
    measuring the whole item gives (the size a Query page is cut by)."""
    from moto.backends import get_backend
    from moto.dynamodb.models.dynamo_type import DynamoType

    from local import moto_index

    moto_index.install()
    results = {}
    for fast in (True, False):
        with _stack(fast) as client:
            key = {"pk": {"S": "c1"}, "sk": {"S": "big"}}
            client.put_item(TableName=TABLE, Item={**key, "pad": {"S": "x" * 404_900}})
            outcomes = []
            for n in range(14):
                two = n % 3 == 2  # two counters: moto keeps the first if the second fails
                outcomes.append(_update(client, {
                    "TableName": TABLE, "Key": key,
                    "UpdateExpression": "ADD #c :v" + (", #d :w" if two else ""),
                    "ExpressionAttributeNames": {"#c": f"counter{n % 4}",
                                                 **({"#d": f"extra{n}"} if two else {})},
                    "ExpressionAttributeValues": {":v": {"N": str(10 ** n)},
                                                  **({":w": {"N": "7"}} if two else {})}}))
                table = get_backend("dynamodb")["123456789012"]["eu-west-2"].get_table(TABLE)
                stored = table.get_item(DynamoType({"S": "c1"}), DynamoType({"S": "big"}))
                real = sum(len(k.encode()) + v.size() for k, v in stored.attrs.items())
                assert stored.size() == real, n
            results[fast] = (outcomes, client.get_item(TableName=TABLE, Key=key)["Item"])
    assert results[True] == results[False]
    assert "ok" in results[True][0] and "ValidationException" in results[True][0]

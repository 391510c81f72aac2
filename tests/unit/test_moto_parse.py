"""The local stack reads DynamoDB requests with json.loads (local/moto_speedups.install_parse)
and must read exactly what moto's shape-by-shape parser reads, for every request the product
sends: nested maps and lists, sets, numbers, booleans, key conditions, start keys,
transactions, and strings that look like JSON (an event payload, a report contribution's
entry). Binary values and nulls go to moto's parser; a transaction that fails still puts back
what it touched (the shallow undo of local/moto_speedups._before)."""
from __future__ import annotations

import json

import boto3
import pytest
from moto import mock_aws
from moto.dynamodb.responses import DynamoHandler

from local import moto_index, moto_speedups

TABLE = "parse_test"


@pytest.fixture
def ddb(monkeypatch):
    moto_index.install()
    moto_speedups.install()
    seen: list[tuple[str, bool, bool]] = []
    ours = DynamoHandler.parse_parameters

    def both(self, request):
        monkeypatch.setattr(moto_speedups, "PARSE_ENABLED", False)
        ours(self, request)
        slow = self.params
        monkeypatch.setattr(moto_speedups, "PARSE_ENABLED", True)
        count = moto_speedups.FAST_PARSES
        ours(self, request)
        fast = self.params
        seen.append((self._get_action(), fast == slow, moto_speedups.FAST_PARSES > count))

    monkeypatch.setattr(DynamoHandler, "parse_parameters", both)
    with mock_aws():
        client = boto3.client("dynamodb", region_name="eu-west-2")
        client.create_table(
            TableName=TABLE, BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": n, "AttributeType": "S"} for n in ("pk", "sk")],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"},
                       {"AttributeName": "sk", "KeyType": "RANGE"}])
        client.seen = seen
        yield client


def _item(pk: str, sk: str, **extra) -> dict:
    entry = json.dumps({"state": {"status": "open", "paid_on": None, "dispute": None},
                        "text": '{"B": "x"}, null'})
    return {"pk": {"S": pk}, "sk": {"S": sk}, "n": {"N": "12.50"}, "ok": {"BOOL": False},
            "nothing": {"NULL": True}, "entry": {"S": entry},
            "tags": {"SS": ["a", "b"]}, "nums": {"NS": ["1", "2"]},
            "deep": {"M": {"list": {"L": [{"S": "x"}, {"N": "3"}, {"M": {"y": {"BOOL": True}}}]}}},
            **extra}


def test_every_request_reads_as_motos_parser_reads_it(ddb):
    ddb.put_item(TableName=TABLE, Item=_item("p", "s1"))
    ddb.put_item(TableName=TABLE, Item=_item("p", "s2"), ConditionExpression="attribute_not_exists(#k)",
                 ExpressionAttributeNames={"#k": "pk"})
    ddb.batch_write_item(RequestItems={TABLE: [{"PutRequest": {"Item": _item("p", f"b{n}")}}
                                               for n in range(5)]})
    ddb.update_item(TableName=TABLE, Key={"pk": {"S": "p"}, "sk": {"S": "s1"}},
                    UpdateExpression="ADD #c :one", ExpressionAttributeNames={"#c": "count"},
                    ExpressionAttributeValues={":one": {"N": "1"}}, ReturnValues="ALL_NEW")
    page = ddb.query(TableName=TABLE, KeyConditionExpression="pk = :p AND sk > :s", Limit=2,
                     ExpressionAttributeValues={":p": {"S": "p"}, ":s": {"S": "a"}})
    ddb.query(TableName=TABLE, KeyConditionExpression="pk = :p", ScanIndexForward=False,
              ExclusiveStartKey=page["LastEvaluatedKey"], ConsistentRead=True,
              ExpressionAttributeValues={":p": {"S": "p"}})
    ddb.batch_get_item(RequestItems={TABLE: {"Keys": [{"pk": {"S": "p"}, "sk": {"S": "s1"}}],
                                             "ConsistentRead": True}})
    ddb.transact_write_items(TransactItems=[
        {"Put": {"TableName": TABLE, "Item": _item("p", "t1"),
                 "ConditionExpression": "attribute_not_exists(pk)"}},
        {"Update": {"TableName": TABLE, "Key": {"pk": {"S": "p"}, "sk": {"S": "s2"}},
                    "UpdateExpression": "SET #e = :e", "ExpressionAttributeNames": {"#e": "entry"},
                    "ExpressionAttributeValues": {":e": {"S": "null"}}}},
        {"Delete": {"TableName": TABLE, "Key": {"pk": {"S": "p"}, "sk": {"S": "b0"}}}}])
    ddb.put_item(TableName=TABLE, Item=_item("p", "bin", blob={"B": b"\x00\x01"},
                                             blobs={"BS": [b"\x02"]}))
    got = ddb.get_item(TableName=TABLE, Key={"pk": {"S": "p"}, "sk": {"S": "bin"}})["Item"]
    assert got["blob"] == {"B": b"\x00\x01"} and got["blobs"] == {"BS": [b"\x02"]}
    seen = ddb.seen
    assert seen and all(same for _, same, _ in seen), [s for s in seen if not s[1]]
    # json.loads read everything but the binary item (moto's parser decodes it)
    fast = {action for action, _, used in seen if used}
    assert {"PutItem", "BatchWriteItem", "UpdateItem", "Query", "BatchGetItem",
            "TransactWriteItems", "GetItem"} <= fast
    assert sum(1 for action, _, used in seen if action == "PutItem" and not used) == 1


def test_a_cancelled_transaction_puts_back_what_it_touched(ddb):
    ddb.put_item(TableName=TABLE, Item=_item("p", "c", count={"N": "5"}))
    ddb.put_item(TableName=TABLE, Item=_item("p", "d"))
    before = {k: ddb.get_item(TableName=TABLE, Key={"pk": {"S": "p"}, "sk": {"S": k}})["Item"]
              for k in ("c", "d")}
    with pytest.raises(ddb.exceptions.TransactionCanceledException):
        ddb.transact_write_items(TransactItems=[
            {"Update": {"TableName": TABLE, "Key": {"pk": {"S": "p"}, "sk": {"S": "c"}},
                        "UpdateExpression": "ADD #c :n", "ExpressionAttributeNames": {"#c": "count"},
                        "ExpressionAttributeValues": {":n": {"N": "7"}}}},
            {"Update": {"TableName": TABLE, "Key": {"pk": {"S": "p"}, "sk": {"S": "d"}},
                        "UpdateExpression": "SET deep.#l = :v",
                        "ExpressionAttributeNames": {"#l": "list"},
                        "ExpressionAttributeValues": {":v": {"L": []}}}},
            {"Put": {"TableName": TABLE, "Item": _item("p", "e")}},
            {"ConditionCheck": {"TableName": TABLE, "Key": {"pk": {"S": "p"}, "sk": {"S": "none"}},
                                "ConditionExpression": "attribute_exists(pk)"}}])
    after = {k: ddb.get_item(TableName=TABLE, Key={"pk": {"S": "p"}, "sk": {"S": k}})["Item"]
             for k in ("c", "d")}
    assert after == before
    assert "Item" not in ddb.get_item(TableName=TABLE, Key={"pk": {"S": "p"}, "sk": {"S": "e"}})


def test_a_kept_condition_is_judged_with_its_own_values_and_names(ddb):
    """Parsed conditions are kept per expression, names and values: the same expression
    with other values or names is another condition, and errors are still moto's."""
    ddb.put_item(TableName=TABLE, Item={"pk": {"S": "p"}, "sk": {"S": "v"}, "rev": {"N": "5"},
                                        "other": {"N": "6"}})
    key = {"pk": {"S": "p"}, "sk": {"S": "v"}}

    def bump(rev: str, name: str = "rev") -> None:
        ddb.update_item(TableName=TABLE, Key=key, UpdateExpression="ADD #c :one",
                        ConditionExpression="#r = :r",
                        ExpressionAttributeNames={"#c": "count", "#r": name},
                        ExpressionAttributeValues={":one": {"N": "1"}, ":r": {"N": rev}})

    bump("5")
    bump("5")  # kept, and still true
    with pytest.raises(ddb.exceptions.ConditionalCheckFailedException):
        bump("6")  # the same expression with another value
    bump("6", name="other")  # … and with another name
    with pytest.raises(ddb.exceptions.ClientError, match="ExpressionAttributeNames"):
        ddb.update_item(TableName=TABLE, Key=key, UpdateExpression="ADD #c :one",
                        ConditionExpression="#r = :r",
                        ExpressionAttributeNames={"#c": "count", "#r": "rev", "#x": "unused"},
                        ExpressionAttributeValues={":one": {"N": "1"}, ":r": {"N": "5"}})
    got = ddb.get_item(TableName=TABLE, Key=key)["Item"]
    assert got["count"] == {"N": "3"}


def test_a_null_outside_a_string_is_always_seen():
    """A body goes to moto's parser when a null could be real; the null inside an entry's
    JSON text (a string) does not count."""
    real = [{"Item": {"a": None}}, {"L": [None]}, {"L": [1, None]}, {"k\\": {"x": None}}]
    for body in real:
        assert moto_speedups._may_hold_null(json.dumps(body).encode()), body
    quoted = {"Item": {"entry": {"S": json.dumps({"paid_on": None, "x": {"y": None}})}}}
    assert not moto_speedups._may_hold_null(json.dumps(quoted).encode())
    assert not moto_speedups._may_hold_null(json.dumps(quoted, separators=(",", ":")).encode())

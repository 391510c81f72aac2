"""The local stack's moto index (local/moto_index.py) answers every Query exactly as moto's
own walk of the table does, and its wire serializer (local/moto_speedups.install_wire) writes
what moto's serializer writes: same items, same order, same pages, after any mix of writes."""
from __future__ import annotations

import random

import boto3
import pytest
from moto import mock_aws

from local import moto_index, moto_speedups

TABLE = "idx_test"


@pytest.fixture
def ddb():
    moto_index.install()
    moto_speedups.install()
    with mock_aws():
        client = boto3.client("dynamodb", region_name="eu-west-2")
        client.create_table(
            TableName=TABLE, BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": n, "AttributeType": "S"}
                                  for n in ("pk", "sk", "client", "number", "open_key")],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"},
                       {"AttributeName": "sk", "KeyType": "RANGE"}],
            GlobalSecondaryIndexes=[
                {"IndexName": "by_number", "Projection": {"ProjectionType": "ALL"},
                 "KeySchema": [{"AttributeName": "client", "KeyType": "HASH"},
                               {"AttributeName": "number", "KeyType": "RANGE"}]},
                {"IndexName": "open", "Projection": {"ProjectionType": "KEYS_ONLY"},
                 "KeySchema": [{"AttributeName": "open_key", "KeyType": "HASH"},
                               {"AttributeName": "sk", "KeyType": "RANGE"}]}])
        yield client


def _item(rnd: random.Random, pk: str, sk: str) -> dict:
    item = {"pk": {"S": pk}, "sk": {"S": sk}, "client": {"S": f"c{rnd.randint(0, 2)}"},
            "number": {"S": f"N{rnd.randint(0, 40):03d}"}, "amount": {"N": str(rnd.randint(0, 9))},
            "blob": {"B": bytes([rnd.randrange(256) for _ in range(4)])},
            "tags": {"L": [{"S": "a"}, {"N": "1"}, {"BOOL": True}, {"NULL": True}]},
            "more": {"M": {"x": {"SS": ["p", "q"]}}}}
    if rnd.random() < 0.5:
        item["open_key"] = {"S": f"o{rnd.randint(0, 1)}"}  # sparse: half the items
    return item


def _write(client, rnd: random.Random, keys: list[tuple[str, str]]) -> None:
    pk, sk = rnd.choice(keys)
    key = {"pk": {"S": pk}, "sk": {"S": sk}}
    op = rnd.randrange(6)
    if op == 0:
        client.put_item(TableName=TABLE, Item=_item(rnd, pk, sk))
    elif op == 1:  # the index keys change in place
        client.update_item(TableName=TABLE, Key=key,
                           UpdateExpression="SET client = :c, #n = :n REMOVE open_key",
                           ExpressionAttributeNames={"#n": "number"},
                           ExpressionAttributeValues={":c": {"S": f"c{rnd.randint(0, 2)}"},
                                                      ":n": {"S": f"N{rnd.randint(0, 40):03d}"}})
    elif op == 2:
        client.update_item(TableName=TABLE, Key=key, UpdateExpression="SET open_key = :o",
                           ExpressionAttributeValues={":o": {"S": f"o{rnd.randint(0, 1)}"}})
    elif op == 3:
        client.delete_item(TableName=TABLE, Key=key)
    elif op == 4:
        picks = rnd.sample(keys, 5)
        client.batch_write_item(RequestItems={TABLE: [
            {"PutRequest": {"Item": _item(rnd, p, s)}} if rnd.random() < 0.7 else
            {"DeleteRequest": {"Key": {"pk": {"S": p}, "sk": {"S": s}}}} for p, s in picks]})
    else:  # a transaction, sometimes cancelled by its condition (rolled back)
        (p1, s1), (p2, s2) = rnd.sample(keys, 2)
        try:
            client.transact_write_items(TransactItems=[
                {"Put": {"TableName": TABLE, "Item": _item(rnd, p1, s1)}},
                {"Update": {"TableName": TABLE, "Key": {"pk": {"S": p2}, "sk": {"S": s2}},
                            "UpdateExpression": "SET client = :c",
                            "ConditionExpression": "attribute_exists(pk)",
                            "ExpressionAttributeValues": {":c": {"S": "c1"}}}}])
        except client.exceptions.TransactionCanceledException:
            pass


def _queries() -> list[dict]:
    out = []
    for p in ("p0", "p1", "p2", "nobody"):
        out += [{"KeyConditionExpression": "pk = :h", "ExpressionAttributeValues": {":h": {"S": p}}},
                {"KeyConditionExpression": "pk = :h AND sk > :s", "ScanIndexForward": False,
                 "ExpressionAttributeValues": {":h": {"S": p}, ":s": {"S": "s05"}}, "Limit": 3}]
    for c in ("c0", "c1", "c2", "c9"):
        out += [{"IndexName": "by_number", "KeyConditionExpression": "client = :c",
                 "ExpressionAttributeValues": {":c": {"S": c}}, "Limit": 7},
                {"IndexName": "by_number", "KeyConditionExpression":
                 "client = :c AND #n BETWEEN :a AND :b", "ExpressionAttributeNames": {"#n": "number"},
                 "ExpressionAttributeValues": {":c": {"S": c}, ":a": {"S": "N010"},
                                               ":b": {"S": "N030"}}, "ScanIndexForward": False},
                {"IndexName": "by_number", "KeyConditionExpression": "client = :c",
                 "FilterExpression": "amount > :z", "Limit": 5,
                 "ExpressionAttributeValues": {":c": {"S": c}, ":z": {"N": "4"}}}]
    for o in ("o0", "o1"):
        out.append({"IndexName": "open", "KeyConditionExpression": "open_key = :o",
                    "ExpressionAttributeValues": {":o": {"S": o}}, "Limit": 4})
    return out


def _all_pages(client, q: dict) -> list[dict]:
    pages, start = [], None
    while True:
        kw = dict(q, TableName=TABLE, **({"ExclusiveStartKey": start} if start else {}))
        page = client.query(**kw)
        pages.append({k: page.get(k) for k in ("Items", "Count", "ScannedCount",
                                               "LastEvaluatedKey")})
        start = page.get("LastEvaluatedKey")
        if not start:
            return pages


def _both(client, q: dict) -> tuple[list, list]:
    moto_index.ENABLED = moto_speedups.WIRE_ENABLED = False
    try:
        walked = _all_pages(client, q)
    finally:
        moto_index.ENABLED = moto_speedups.WIRE_ENABLED = True
    return walked, _all_pages(client, q)


def test_item_reads_and_writes_answer_as_motos_serializer(ddb):
    rnd = random.Random(5)
    keys = [(f"p{a}", f"s{b:02d}") for a in range(2) for b in range(6)]
    for pk, sk in keys:
        ddb.put_item(TableName=TABLE, Item=_item(rnd, pk, sk))
    calls = [
        ("get_item", {"Key": {"pk": {"S": "p0"}, "sk": {"S": "s01"}}, "ConsistentRead": True}),
        ("get_item", {"Key": {"pk": {"S": "p9"}, "sk": {"S": "s01"}}}),
        ("batch_get_item", {"RequestItems": {TABLE: {"Keys": [
            {"pk": {"S": p}, "sk": {"S": s}} for p, s in keys[:5]]}}}),
        ("scan", {"Limit": 4}),
        ("update_item", {"Key": {"pk": {"S": "p1"}, "sk": {"S": "s02"}},
                         "UpdateExpression": "ADD amount :one",
                         "ExpressionAttributeValues": {":one": {"N": "1"}},
                         "ReturnValues": "ALL_NEW"}),
        ("put_item", {"Item": _item(rnd, "p1", "s03"), "ReturnValues": "ALL_OLD"}),
        ("delete_item", {"Key": {"pk": {"S": "p1"}, "sk": {"S": "s04"}},
                         "ReturnValues": "ALL_OLD"}),
        ("batch_write_item", {"RequestItems": {TABLE: [
            {"PutRequest": {"Item": _item(rnd, "p0", "s09")}}]}}),
        ("transact_get_items", {"TransactItems": [
            {"Get": {"TableName": TABLE, "Key": {"pk": {"S": "p0"}, "sk": {"S": "s00"}}}}]}),
    ]
    for name, kwargs in calls:
        if name not in ("batch_get_item", "batch_write_item", "transact_get_items"):
            kwargs = dict(kwargs, TableName=TABLE)
        answers = []
        for wire in (False, True):
            moto_speedups.WIRE_ENABLED = wire
            try:
                out = getattr(ddb, name)(**kwargs)
            finally:
                moto_speedups.WIRE_ENABLED = True
            out.pop("ResponseMetadata", None)
            answers.append(out)
            if name in ("put_item", "delete_item", "update_item", "batch_write_item"):
                break  # a write answers once; its reads are compared below
        if len(answers) == 2:
            assert answers[0] == answers[1], name
    for q in _queries():
        walked, fast = _both(ddb, q)
        assert fast == walked, q


def test_queries_answer_as_motos_own_walk_after_any_writes(ddb):
    rnd = random.Random(12)
    keys = [(f"p{a}", f"s{b:02d}") for a in range(3) for b in range(12)]
    for pk, sk in keys:
        ddb.put_item(TableName=TABLE, Item=_item(rnd, pk, sk))
    for q in _queries():  # the indexes are built on their first query
        walked, indexed = _both(ddb, q)
        assert indexed == walked, q
    for round_ in range(8):
        for _ in range(25):
            _write(ddb, rnd, keys)
        for q in _queries():
            walked, indexed = _both(ddb, q)
            assert indexed == walked, (round_, q)


def test_an_index_query_sees_an_item_whose_key_was_set_by_an_update(ddb):
    ddb.put_item(TableName=TABLE, Item={"pk": {"S": "p"}, "sk": {"S": "s"}})
    q = {"IndexName": "open", "KeyConditionExpression": "open_key = :o",
         "ExpressionAttributeValues": {":o": {"S": "o1"}}}
    assert ddb.query(TableName=TABLE, **q)["Items"] == []  # builds the (empty) bucket
    ddb.update_item(TableName=TABLE, Key={"pk": {"S": "p"}, "sk": {"S": "s"}},
                    UpdateExpression="SET open_key = :o",
                    ExpressionAttributeValues={":o": {"S": "o1"}})
    assert [i["pk"]["S"] for i in ddb.query(TableName=TABLE, **q)["Items"]] == ["p"]
    ddb.delete_item(TableName=TABLE, Key={"pk": {"S": "p"}, "sk": {"S": "s"}})
    assert ddb.query(TableName=TABLE, **q)["Items"] == []


def test_a_long_read_sees_writes_made_between_its_pages(ddb):
    """The sorted answer kept for the pages of one read is dropped by any write: page by
    page, with writes in between, the indexed table answers as moto's walk of a twin."""
    global TABLE
    twin = TABLE + "_twin"
    desc = ddb.describe_table(TableName=TABLE)["Table"]
    ddb.create_table(
        TableName=twin, BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=desc["AttributeDefinitions"], KeySchema=desc["KeySchema"],
        GlobalSecondaryIndexes=[{k: g[k] for k in ("IndexName", "KeySchema", "Projection")}
                                for g in desc["GlobalSecondaryIndexes"]])
    keys = [(f"p{a}", f"s{b:02d}") for a in range(3) for b in range(12)]
    main = TABLE
    rnds = {main: random.Random(7), twin: random.Random(7)}
    try:
        for name in (main, twin):
            TABLE = name
            for pk, sk in keys:
                ddb.put_item(TableName=name, Item=_item(rnds[name], pk, sk))
        for q in [q for q in _queries() if q.get("IndexName")]:
            starts = {main: None, twin: None}
            for _page in range(12):
                pages = {}
                for name, indexed in ((main, True), (twin, False)):
                    TABLE = name
                    moto_index.ENABLED = indexed
                    try:
                        kw = dict(q, TableName=name)
                        if starts[name]:
                            kw["ExclusiveStartKey"] = starts[name]
                        page = ddb.query(**kw)
                    finally:
                        moto_index.ENABLED = True
                    pages[name] = (page["Items"], page.get("LastEvaluatedKey"))
                    starts[name] = page.get("LastEvaluatedKey")
                    _write(ddb, rnds[name], keys)  # the same write on both, between pages
                assert pages[main] == pages[twin], q
                if not starts[main]:
                    break
    finally:
        TABLE = main


def test_pages_cut_by_size_end_where_motos_walk_ends_them(ddb):
    """Pages of big items end on DynamoDB's 1 MB rule, not a Limit: the indexed read hands
    moto only the stretch of the answer a page reaches, so each page must still end on the
    same item, with the same LastEvaluatedKey, forwards and from every start key."""
    rnd = random.Random(3)
    for n in range(40):
        item = _item(rnd, "big", f"s{n:03d}")
        item["client"] = {"S": "cbig"}
        item["pad"] = {"S": "x" * rnd.randint(40_000, 120_000)}
        ddb.put_item(TableName=TABLE, Item=item)
    reads = [{"KeyConditionExpression": "pk = :h", "ExpressionAttributeValues": {":h": {"S": "big"}}},
             {"KeyConditionExpression": "pk = :h", "Limit": 9,
              "ExpressionAttributeValues": {":h": {"S": "big"}}},
             {"IndexName": "by_number", "KeyConditionExpression": "client = :c",
              "ExpressionAttributeValues": {":c": {"S": "cbig"}}}]
    for q in reads:
        for _ in range(2):  # the second time the sorted answer is already kept
            walked, indexed = _both(ddb, q)
            assert indexed == walked, q
            assert len(walked) >= 3, q  # several pages: the size rule cut them

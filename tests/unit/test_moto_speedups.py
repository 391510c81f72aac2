"""The local stack's faster moto item build keeps DynamoDB's 400 KB item limit."""
import pytest

from local import moto_speedups


def test_item_over_the_limit_is_still_rejected_and_a_normal_one_is_kept():
    moto_speedups.install()
    from moto.dynamodb.exceptions import ItemSizeTooLarge
    from moto.dynamodb.models.dynamo_type import DynamoType, Item

    key = DynamoType({"S": "k"})
    item = Item(key, None, {"pk": {"S": "k"}, "n": {"N": "5"}, "m": {"M": {"a": {"S": "b"}}}})
    assert item.attrs["n"].cast_value == 5 and item.attrs["m"]["a"].value == "b"
    with pytest.raises(ItemSizeTooLarge):
        Item(key, None, {"pk": {"S": "k"}, "a": {"S": "x" * 300_000}, "b": {"S": "y" * 200_000}})
    Item(key, None, {"pk": {"S": "k"}, "a": {"S": "x" * 300_000}})  # under the limit: fine


def test_a_cancelled_transaction_leaves_every_item_as_it_was(aws, monkeypatch):
    import boto3
    from botocore.exceptions import ClientError
    from moto.dynamodb.models import DynamoDBBackend

    moto_speedups.install_transactions()
    monkeypatch.setattr(DynamoDBBackend, "transact_write_items", moto_speedups.transact_write_items)
    db = boto3.client("dynamodb", region_name="eu-west-2")
    db.create_table(TableName="tx", BillingMode="PAY_PER_REQUEST",
                    KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                    AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}])
    db.put_item(TableName="tx", Item={"pk": {"S": "a"}, "n": {"N": "1"}})

    def tx(condition_on_b: str) -> None:
        db.transact_write_items(TransactItems=[
            {"Update": {"TableName": "tx", "Key": {"pk": {"S": "a"}},
                        "UpdateExpression": "ADD n :one",
                        "ExpressionAttributeValues": {":one": {"N": "1"}}}},
            {"Put": {"TableName": "tx", "Item": {"pk": {"S": "c"}}}},
            {"Put": {"TableName": "tx", "Item": {"pk": {"S": "b"}},
                     "ConditionExpression": condition_on_b}}])

    db.put_item(TableName="tx", Item={"pk": {"S": "b"}})
    with pytest.raises(ClientError) as err:
        tx("attribute_not_exists(pk)")  # b exists: the whole transaction is cancelled
    assert err.value.response["Error"]["Code"] == "TransactionCanceledException"
    assert db.get_item(TableName="tx", Key={"pk": {"S": "a"}})["Item"]["n"] == {"N": "1"}
    assert "Item" not in db.get_item(TableName="tx", Key={"pk": {"S": "c"}})
    tx("attribute_exists(pk)")
    assert db.get_item(TableName="tx", Key={"pk": {"S": "a"}})["Item"]["n"] == {"N": "2"}
    assert "Item" in db.get_item(TableName="tx", Key={"pk": {"S": "c"}})

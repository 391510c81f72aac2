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

"""Make the embedded moto DynamoDB keep up with a 20,000-invoice book (local stack only).

moto checks DynamoDB's 400 KB item limit by re-measuring the whole item each time it sets
one attribute while building it, so storing an item costs attributes² size walks; at an
import's thousands of items a second that was most of moto's time. `install()` builds the
item's attributes first and measures it once, with the same limit and the same error
(ItemSizeTooLarge); later single-attribute updates keep moto's own check.

moto also backs up every table a transaction touches with a deep copy, so one transaction
cost the size of the tables; `transact_write_items` keeps the touched items instead.

moto parses, deep-copies and walks an UpdateExpression's syntax tree a dozen times per
update, and re-measures the item at each attribute it sets: a report counter update
(`ADD #a0 :v0, …` of dozens of counters) took ~11 ms, most of an import's time.
`update_counters` applies a plain numeric ADD directly (same condition check, same result,
same errors by falling back to moto for anything else).

And moto walks the whole table for every Query: `local/moto_index.py` gives it the
partition or the GSI bucket instead (installed here too).

moto's SQS counts the queue (every message, reading the clock once or twice each) whenever
it builds the queue's attributes: for every message sent, and three times for every
message handed out (its retention check), so a receive of 10 from a queue of n messages
read the clock over 100n times and a day's 500 dispatch messages cost seconds (the sweep's
sends 7 s of a 51 s chasing day); `install_sqs` reads the clock once per count and the
retention period directly: the same messages, counts and order. And moto's server
lists its own package directory (a listdir and ~80 stats) to route every request;
`install_routing` lists it once.

Per request and per item, moto also parses the JSON body against the botocore shape node by
node (`install_parse`: json.loads, which reads the same for DynamoDB's JSON protocol; binary
values and nulls still go to moto's parser), re-parses the same condition and update
expressions for every item of a transaction (`install_expressions` keeps each parsed one),
walks every answer twice before writing it (`install_wire`: one walk of the raw result) and
deep-copies each item a transaction touches for its undo (`_before`: the attribute map where
no value is changed in place). Each is proved against moto's own path by a comparison test
(tests/unit/test_moto_parse.py, test_moto_index.py, test_moto_counters.py).
"""
from __future__ import annotations

import re
from typing import Any

_installed = False
LIMIT = 405_000  # moto's own figure (DynamoDB rejects between 409 and 410 KB)


def install() -> None:
    global _installed
    if _installed:
        return
    from moto.dynamodb.exceptions import ItemSizeTooLarge
    from moto.dynamodb.models import dynamo_type
    from moto.dynamodb.models.utilities import bytesize

    def item_init(self: Any, hash_key: Any, range_key: Any, attrs: dict[str, Any]) -> None:
        self.hash_key = hash_key
        self.range_key = range_key
        built = {key: dynamo_type.DynamoType(value) for key, value in attrs.items()}
        size = sum(bytesize(k) + v.size() for k, v in built.items())
        if size > LIMIT:
            raise ItemSizeTooLarge
        self.attrs = dynamo_type.LimitedSizeDict()
        dict.update(self.attrs, built)
        self._recoup_size = size  # Item.size(), kept by local/moto_index until an update

    dynamo_type.Item.__init__ = item_init
    install_transactions()
    install_counters()
    from local import moto_index

    moto_index.install()  # a Query reads its partition / index bucket, not the whole table
    install_wire()
    install_parse()
    install_expressions()
    install_sqs()
    install_routing()
    _installed = True


class _TablesNotCopied:
    """Stands in for the `copy` module inside moto's DynamoDB backend: a whole Table is
    "copied" as itself (transact_items_undo keeps the items instead); the rest is copy's."""

    def __init__(self) -> None:
        import copy

        self._copy = copy

    def deepcopy(self, value: Any, memo: Any = None) -> Any:
        from moto.dynamodb.models.table import Table

        return value if isinstance(value, Table) else self._copy.deepcopy(value, memo)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._copy, name)


def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
    """moto's TransactWriteItems, rolled back by the items it touches instead of a deep copy
    of every table it touches (that copy made each transaction cost the size of the tables:
    at a 20,000-invoice book, seconds each). Same checks, errors and outcome."""
    from moto.dynamodb import models

    undo: list[tuple[str, dict, Any]] = []
    seen: set[tuple[str, str]] = set()
    for item in transact_items[:100]:
        try:
            kind, op = next(iter(item.items()))
            table = self.get_table(op["TableName"])
            if "Item" in op:
                key = {table.hash_key_attr: op["Item"][table.hash_key_attr]}
                if table.range_key_attr is not None:
                    key[table.range_key_attr] = op["Item"][table.range_key_attr]
            else:
                key = op["Key"]
            mark = (op["TableName"], str(sorted(key.items())))
            if mark in seen:
                continue
            seen.add(mark)
            undo.append((op["TableName"], key, _before(self.get_item(op["TableName"], key),
                                                       kind, op)))
        except Exception:  # moto's own pass reports what is wrong with the request
            continue
    real_copy = models.copy
    models.copy = _TablesNotCopied()
    try:
        _real_transact(self, transact_items)
    except BaseException:
        models.copy = real_copy
        for table_name, key, before in reversed(undo):
            if before is None:
                self.delete_item(table_name, key)
            else:
                self.put_item(table_name, before.to_json()["Attributes"])
        raise
    finally:
        models.copy = real_copy


def _before(item: Any, kind: str, op: dict) -> Any:
    """What to put back if the transaction fails. A Put or a Delete replaces the stored item
    and a plain counter ADD replaces attribute values (`update_counters`), so the stored
    item's attribute map is kept as it is (its values are never changed in place); any
    other update may change a nested value in place, so that item is deep-copied."""
    import copy

    from local import moto_index

    if item is None:
        return None
    replaced = kind in ("Put", "Delete", "ConditionCheck") or (
        kind == "Update" and COUNTERS_ENABLED and _plain_add(
            op.get("UpdateExpression"), op.get("ExpressionAttributeNames"),
            op.get("ExpressionAttributeValues"), op.get("ConditionExpression"), None,
            None) is not None)
    return moto_index.snapshot(item) if replaced else copy.deepcopy(item)


_real_transact: Any = None
_real_update: Any = None
_ADD = None


def _plain_add(update_expression: str | None, names: dict | None, values: dict | None,
               condition: str | None, attribute_updates: Any, expected: Any
               ) -> list[tuple[str, dict]] | None:
    """[(attribute, {"N": …})] when the update is only `ADD #name :value, …` of numbers to
    distinct attributes, every name and value given is used, nothing else is asked; else
    None (moto's own path, with its validation and errors)."""
    import re

    global _ADD
    if attribute_updates or expected or not update_expression or not names or not values:
        return None
    if _ADD is None:
        _ADD = (re.compile(r"^\s*ADD\s+(#\w+\s+:\w+(?:\s*,\s*#\w+\s+:\w+)*)\s*$"),
                re.compile(r"#\w+"), re.compile(r":\w+"))
    whole, name_ref, value_ref = _ADD
    m = whole.match(update_expression)
    if not m:
        return None
    pairs = [p.split() for p in m.group(1).split(",")]
    used_names = {n for n, _ in pairs} | set(name_ref.findall(condition or ""))
    used_values = {v for _, v in pairs} | set(value_ref.findall(condition or ""))
    if used_names != set(names) or used_values != set(values):
        return None
    out = [(names[n], values[v]) for n, v in pairs]
    if len({a for a, _ in out}) != len(out) or any(
            set(v) != {"N"} or not isinstance(v["N"], str) for _, v in out):
        return None
    return out


def update_counters(self: Any, table_name: str, key: dict, update_expression: str,
                    expression_attribute_names: dict, expression_attribute_values: dict,
                    attribute_updates: Any = None, expected: Any = None,
                    condition_expression: str | None = None,
                    return_values_on_condition_check_failure: str | None = None) -> Any:
    """moto's UpdateItem for a plain numeric ADD (counters), without its expression
    machinery: the condition checked as moto checks it, a missing item created, each
    attribute added with moto's own DynamoType arithmetic, the 400 KB limit checked from
    the item's kept size."""
    from moto.dynamodb.comparisons import create_condition_expression_parser
    from moto.dynamodb.exceptions import ConditionalCheckFailed, ItemSizeToUpdateTooLarge
    from moto.dynamodb.models.dynamo_type import DynamoType
    from moto.dynamodb.models.utilities import bytesize

    adds = _plain_add(update_expression, expression_attribute_names,
                      expression_attribute_values, condition_expression, attribute_updates,
                      expected)
    table = self.get_table(table_name) if adds is not None else None
    if adds is None or not COUNTERS_ENABLED or table.stream_shard is not None or any(
            a in (table.hash_key_attr, table.range_key_attr) for a, _ in adds) or any(
            a not in key for a in (table.hash_key_attr, table.range_key_attr) if a):
        return _real_update(self, table_name, key, update_expression,
                            expression_attribute_names, expression_attribute_values,
                            attribute_updates, expected, condition_expression,
                            return_values_on_condition_check_failure)
    hash_value = DynamoType(key[table.hash_key_attr])
    range_value = DynamoType(key[table.range_key_attr]) if table.range_key_attr else None
    item = table.get_item(hash_value, range_value)
    if item is not None and any(a in item.attrs and item.attrs[a].type != "N" for a, _ in adds):
        return _real_update(self, table_name, key, update_expression,  # moto's type error
                            expression_attribute_names, expression_attribute_values,
                            attribute_updates, expected, condition_expression,
                            return_values_on_condition_check_failure)
    condition = create_condition_expression_parser(
        condition_expression, expression_attribute_names, expression_attribute_values).parse()
    if not condition.expr(item):
        if return_values_on_condition_check_failure == "ALL_OLD" and item is not None:
            raise ConditionalCheckFailed(item=item.to_json()["Attributes"])
        raise ConditionalCheckFailed
    new = {a: (item.attrs[a] if item is not None and a in item.attrs
               else DynamoType({"N": "0"})) + DynamoType(v) for a, v in adds}
    if item is None:
        data = {table.hash_key_attr: {hash_value.type: hash_value.value}}
        if range_value is not None:
            data[table.range_key_attr] = {range_value.type: range_value.value}
        table.put_item(data)
        item = table.get_item(hash_value, range_value)
    # moto sets the attributes one by one, refusing the one that would take the item over
    # the limit as it measures it (the item as it stands plus the new attribute, the old
    # value of a replaced one still counted) and keeping those set before it: the same
    # here, from the item's size (kept by local/moto_index) instead of re-measuring it
    size = item.size()
    for a, v in new.items():
        mine = bytesize(a) + v.size()
        if size + mine > LIMIT:
            raise ItemSizeToUpdateTooLarge()
        if a in item.attrs:
            size -= bytesize(a) + item.attrs[a].size()
        dict.__setitem__(item.attrs, a, v)
        size += mine
    # the item's size as it now stands (local/moto_index keeps it rather than dropping it)
    item.__dict__["_recoup_size"] = item.__dict__["_recoup_size_after"] = size
    return item


def install_counters() -> None:
    """Swap in update_counters (idempotent)."""
    global _real_update
    from moto.dynamodb.models import DynamoDBBackend

    if _real_update is not None:
        return
    from local import moto_index

    # under the index's UpdateItem if that came first (it must see every update)
    below = moto_index.under_index(update_counters)
    if below is not None:
        _real_update = below
        return
    _real_update = DynamoDBBackend.update_item
    DynamoDBBackend.update_item = update_counters


def install_transactions() -> None:
    """Swap in transact_write_items (idempotent)."""
    global _real_transact
    from moto.dynamodb.models import DynamoDBBackend

    if _real_transact is None:
        _real_transact = DynamoDBBackend.transact_write_items
    DynamoDBBackend.transact_write_items = transact_write_items


# Data-plane answers are already DynamoDB's wire JSON ({"S": ...} attribute values): moto's
# generic serializer walks them against the botocore output shape attribute by attribute,
# which at an import's thousands of items per page was most of moto's time.
WIRE_ACTIONS = frozenset({"GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query", "Scan",
                          "BatchGetItem", "BatchWriteItem", "TransactGetItems",
                          "TransactWriteItems"})
WIRE_ENABLED = True  # the comparison test turns it off to ask moto's serializer
COUNTERS_ENABLED = True  # the comparison test turns it off to ask moto's UpdateItem


class _NotWire(Exception):
    pass


def _wire(value: Any) -> Any:
    """The result as moto's conversion (`dynamo_to_dict`) and its serializer would write it,
    in one walk of the raw result: DynamoTypes as {type: value}, None members dropped,
    bytes base64."""
    import base64

    kind = type(value)
    if kind is str or kind is int or kind is bool or kind is float:
        return value
    if kind is _DynamoType:
        t, v = value.type, value.value
        if t == "M":
            return {"M": _wire(v)}
        if t == "L":
            return {"L": [_wire(x) for x in v]}
        if t == "B":
            return {"B": v if isinstance(v, str) else base64.b64encode(v).decode()}
        if t == "BS":
            return {"BS": [x if isinstance(x, str) else base64.b64encode(x).decode()
                           for x in v]}
        return {t: _wire(v)}
    if isinstance(value, dict):
        return {k: _wire(v) for k, v in value.items() if v is not None}
    if isinstance(value, (list, tuple)):
        return [_wire(v) for v in value]
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, (str, int, float, bool)):
        return value
    raise _NotWire  # an object the serializer reads attributes of (to_json…): moto's path


_DynamoType: Any = None


def install_wire() -> None:
    """Serialize data-plane results with json.dumps from the raw result (idempotent); the
    rest, and any result `_wire` does not know, is moto's conversion and serializer.

    moto's DynamoResult converts every result when it is made (`dynamo_to_dict`, a walk of
    every attribute of every item), then its serializer walks it again against the output
    shape; here the conversion waits until moto's own serializer needs it."""
    import json

    from moto.dynamodb.models.dynamo_type import DynamoType
    from moto.dynamodb.models.utilities import dynamo_to_dict
    from moto.dynamodb.responses import DynamoHandler, DynamoResult

    global _DynamoType
    if getattr(DynamoHandler, "_recoup_wire", False):
        return
    _DynamoType = DynamoType
    real = DynamoHandler.serialized
    real_execute = DynamoResult.execute_result

    def result_init(self: Any, result: object) -> None:
        self._result = result  # converted by execute_result, if moto serializes it

    def execute_result(self: Any, context: Any) -> Any:
        self._result = dynamo_to_dict(self._result)
        return real_execute(self, context)

    def serialized(self: Any, action_result: Any) -> Any:
        result = getattr(action_result, "result", None)
        if (WIRE_ENABLED and type(action_result) is DynamoResult and isinstance(result, dict)
                and self._get_action() in WIRE_ACTIONS):
            try:
                body = json.dumps(_wire(result), separators=(",", ":"))
            except _NotWire:
                return real(self, action_result)
            headers = {"Content-Type": "application/x-amz-json-1.0"}
            headers.update(self.response_headers)
            return 200, headers, body
        return real(self, action_result)

    DynamoResult.__init__ = result_init
    DynamoResult.execute_result = execute_result
    DynamoHandler.serialized = serialized
    DynamoHandler._recoup_wire = True


PARSE_ENABLED = True  # the comparison test turns it off to ask moto's parser
FAST_PARSES = 0  # requests read by json.loads (the comparison test counts them)
# a key "B"/"BS" outside a string: inside one its quotes would be escaped (\")
_BINARY_KEY = re.compile(rb'[{,]\s*"BS?"\s*:')
_NULL_MEMBER = re.compile(rb'(?<!\\)"\s*:\s*null|[\[,]\s*null')


def _may_hold_null(data: bytes) -> bool:
    """False only when no null can be outside a string: a null member follows its key's
    closing quote and a colon ("k": null), a null element a bracket or a comma; inside a
    string every quote is escaped (\\"), so the JSON text of an event payload or a report
    entry (stored as strings) does not count. A key ending in an escaped backslash would
    hide a member's quote: any \\\\" asks for the full walk."""
    return b"null" in data and (b'\\\\"' in data or _NULL_MEMBER.search(data) is not None)


def _has_none(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, dict):
        return any(_has_none(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_none(v) for v in value)
    return False


def install_parse() -> None:
    """Read data-plane requests with json.loads (idempotent).

    moto parses every request body against the botocore input shape, node by node (each
    attribute value a structure of ten members looked up one by one): at an import's
    transactions of 100 items that was a third of a TransactWriteItems. For DynamoDB's JSON
    protocol the parsed request *is* the JSON body, except that binary values (B, BS) are
    decoded and null members dropped: a body with a binary key or any null goes to moto's
    parser."""
    import json

    from moto.dynamodb.responses import DynamoHandler

    if getattr(DynamoHandler, "_recoup_parse", False):
        return
    real = DynamoHandler.parse_parameters

    def parse_parameters(self: Any, request: Any) -> None:
        global FAST_PARSES
        data = request.data
        if PARSE_ENABLED and data and self._get_action() in WIRE_ACTIONS and not (
                _BINARY_KEY.search(data)):
            try:
                parsed = json.loads(data)
            except ValueError:
                parsed = None
            if isinstance(parsed, dict) and not (_may_hold_null(data) and _has_none(parsed)):
                FAST_PARSES += 1
                self.params = parsed
                return
        real(self, request)

    DynamoHandler.parse_parameters = parse_parameters
    DynamoHandler._recoup_parse = True


def install_expressions() -> None:
    """Parse each distinct condition and update expression once (idempotent).

    moto re-parses a request's ConditionExpression at every step that reads it (the
    handler's validation, then the backend's check, for each item of a transaction), and
    an UpdateExpression once more to validate its names: at an import's transactions of
    100 items, 66,000 parses of a handful of distinct expressions. A parsed condition is an
    immutable tree of the expression with its values substituted, so one is kept per
    (expression, names, values) and handed out again with the names and values moto found
    in it; the handler's validation only walks the update expression's tree (find_clauses),
    so it gets a kept one (the backend still parses its own, which it rewrites)."""
    import json

    from moto.dynamodb import responses
    from moto.dynamodb.comparisons import ConditionExpressionParser
    from moto.dynamodb.parsing.expressions import UpdateExpressionParser

    if getattr(ConditionExpressionParser, "_recoup_kept", False):
        return
    real_parse = ConditionExpressionParser.parse
    kept: dict[tuple, tuple] = {}

    def parse(self: Any) -> Any:
        try:
            key = (self.condition_expression,
                   json.dumps(self.expression_attribute_names, sort_keys=True),
                   json.dumps(self.expression_attribute_values, sort_keys=True))
        except (TypeError, ValueError):
            return real_parse(self)
        hit = kept.get(key)
        if hit is None:
            op = real_parse(self)  # an invalid expression raises, and is not kept
            if len(kept) > 10_000:
                kept.clear()
            kept[key] = (op, list(self.expr_attr_names_found),
                         list(self.expr_attr_values_found))
            return op
        self.expr_attr_names_found.extend(hit[1])
        self.expr_attr_values_found.extend(hit[2])
        return hit[0]

    class KeptTree:
        """A parsed update expression whose clause lists are found once."""

        def __init__(self, tree: Any) -> None:
            self.tree, self.found = tree, {}

        def find_clauses(self, kinds: list) -> list:
            key = tuple(kinds)
            if key not in self.found:
                self.found[key] = self.tree.find_clauses(kinds)
            return list(self.found[key])

        def __getattr__(self, name: str) -> Any:
            return getattr(self.tree, name)

    class KeptUpdateExpressions:
        trees: dict[str, Any] = {}

        @classmethod
        def make(cls, expression: str) -> Any:
            tree = cls.trees.get(expression)
            if tree is None:
                tree = KeptTree(UpdateExpressionParser.make(expression))
                if len(cls.trees) > 10_000:
                    cls.trees.clear()
                cls.trees[expression] = tree
            return tree

    ConditionExpressionParser.parse = parse
    ConditionExpressionParser._recoup_kept = True
    responses.UpdateExpressionParser = KeptUpdateExpressions


def install_sqs() -> None:
    """moto's SQS queue counts with one clock read per count, not two per message, and the
    retention check without building every queue attribute (idempotent). A message is
    visible after `visible_at` and delayed before `delayed_until` exactly as moto's
    `Message.visible` / `Message.delayed` say, at the one instant read."""
    from moto.sqs import models as sqs

    if getattr(sqs.Queue, "_recoup_counts", False):
        return

    def visible_now(self: Any) -> list:
        now = sqs.unix_time_millis()
        return [m for m in self._messages if now > m.visible_at and not now < m.delayed_until]

    def delayed(self: Any) -> int:
        now = sqs.unix_time_millis()
        return sum(1 for m in self._messages if now < m.delayed_until)

    def not_visible(self: Any) -> int:
        now = sqs.unix_time_millis()
        return sum(1 for m in self._messages if not now > m.visible_at)

    def retained(self: Any, queue_name: str, message: Any) -> bool:
        period = int(self.get_queue(queue_name).message_retention_period)
        return period + message.sent_timestamp / 1000 > sqs.unix_time()

    sqs.Queue.messages = property(visible_now)
    sqs.Queue.approximate_number_of_messages_delayed = property(delayed)
    sqs.Queue.approximate_number_of_messages_not_visible = property(not_visible)
    sqs.SQSBackend.is_message_valid_based_on_retention_period = retained
    sqs.Queue._recoup_counts = True


def install_routing() -> None:
    """moto's server asks `list_of_moto_modules()` (a listdir of moto's package and a stat
    per entry) for every request it routes; the package does not change while it runs, so
    it is listed once (idempotent)."""
    from moto import backends

    if getattr(backends.list_of_moto_modules, "_recoup_once", False):
        return
    listed = tuple(backends.list_of_moto_modules())

    def once() -> tuple[str, ...]:
        return listed

    once._recoup_once = True  # type: ignore[attr-defined]
    backends.list_of_moto_modules = once

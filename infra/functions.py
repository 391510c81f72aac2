"""The Lambda functions Chalice will create, discovered from the app (so a new schedule,
queue consumer or webhook gets its alarm, its timeout and its wiring to the stack's
queues, topics and table streams without anyone editing infra)."""
from __future__ import annotations

from chalice.utils import to_cfn_resource_name

from infra.definitions import EVENT_DELIVERY, QUEUES, resource_name


def _app():
    from app import app

    return app


def function_names() -> list[str]:
    """Chalice names: `api_handler` for the routes, then authorizers, event handlers and
    pure Lambdas, as `chalice package` names them."""
    app = _app()
    names = ["api_handler"] if app.routes else []
    names += [a.name for a in app.builtin_auth_handlers]
    names += [e.name for e in app.event_sources]
    names += [f.name for f in app.pure_lambda_functions]
    return names


def function_logical_id(name: str) -> str:
    return "APIHandler" if name == "api_handler" else to_cfn_resource_name(name)


def queue_consumers(stage: str) -> dict[str, str]:
    """Chalice function name -> our queue name, for `@app.on_sqs_message` on our queues."""
    by_name = {resource_name(stage, q): q for q in QUEUES}
    out = {}
    for e in _app().event_sources:
        if type(e).__name__ == "SQSEventConfig":
            queue = e.queue or (e.queue_arn or "").split(":")[-1]
            if queue in by_name:
                out[e.name] = by_name[queue]
    return out


def event_wiring(stage: str) -> dict[str, dict]:
    """Patches merged into Chalice's functions: a DynamoDB stream consumer gets its table's
    StreamArn, which no code can know (see definitions.stream_arn).

    Queue and topic consumers need nothing: Chalice names them by ARN (Fn::Sub on our
    names) and every function already Refs every queue and topic through the Globals
    environment, so CloudFormation creates them before any subscription."""
    from infra.tables import logical_id

    prefix = resource_name(stage, "")
    out: dict[str, dict] = {}
    for e in _app().event_sources:
        if type(e).__name__ != "DynamoDBEventConfig":
            continue
        table = e.stream_arn.split(":table/")[-1].split("/stream/")[0]
        if table.startswith(prefix) and e.stream_arn.endswith("/stream/from-stack"):
            event_id = to_cfn_resource_name(e.name + "-dynamodb-event-source")
            fn = out.setdefault(function_logical_id(e.name), {"Properties": {"Events": {}}})
            props = {"Stream": {"Fn::GetAtt": [logical_id(table[len(prefix):], "Table"),
                                               "StreamArn"]}}
            if table[len(prefix):] == EVENT_DELIVERY["table"]:
                from infra.messaging import dlq_id

                props.update({
                    "FunctionResponseTypes": ["ReportBatchItemFailures"],
                    "BisectBatchOnFunctionError": True,
                    "MaximumRetryAttempts": EVENT_DELIVERY["max_retries"],
                    "DestinationConfig": {"OnFailure": {"Destination": {
                        "Fn::GetAtt": [dlq_id(EVENT_DELIVERY["dlq"]), "Arn"]}}}})
            fn["Properties"]["Events"][event_id] = {"Properties": props}
    return out

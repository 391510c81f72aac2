"""The CloudFormation template declares exactly the tables and queues the local stack and
the tests create: one source of truth (PynamoDB models + infra/definitions.py)."""
from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest

from infra import definitions
from infra.build import chalice_config, chalice_environment, template
from infra.definitions import QUEUES, SECRETS, TOPICS, resource_name
from infra.messaging import dlq_id, queue_id, topic_id
from infra.policies import SMS_SID, policy

ROOT = Path(__file__).resolve().parents[2]


def _keys(schema: list[dict]) -> list[tuple[str, str]]:
    return sorted(((k["AttributeName"], k["KeyType"]) for k in schema),
                  key=lambda k: k[1] != "HASH")


def _indexes(indexes: list[dict]) -> dict:
    return {i["IndexName"]: (_keys(i["KeySchema"]), i["Projection"]["ProjectionType"],
                             sorted(i["Projection"].get("NonKeyAttributes", [])))
            for i in indexes}


def _resources(tpl: dict, kind: str) -> dict[str, dict]:
    return {lid: r["Properties"] for lid, r in tpl["Resources"].items() if r.get("Type") == kind}


@pytest.fixture(scope="module")
def tpl():
    return template("test", functions=["api_handler", "bearer"])


def test_template_tables_equal_the_tables_the_models_create(aws, tpl):
    """GIVEN the tables created from ALL_MODELS (as the local stack and tests do)
    THEN the template declares the same tables, keys, attribute types and indexes."""
    from chalicelib.tables import ALL_MODELS

    ddb = boto3.client("dynamodb")
    declared = {p["TableName"]: p for p in _resources(tpl, "AWS::DynamoDB::Table").values()}
    created = {m.Meta.table_name for m in ALL_MODELS}
    assert set(declared) == created
    for name in created:
        real = ddb.describe_table(TableName=name)["Table"]
        mine = declared[name]
        assert _keys(mine["KeySchema"]) == _keys(real["KeySchema"]), name
        assert sorted(map(tuple, (d.values() for d in mine["AttributeDefinitions"]))) == \
            sorted(map(tuple, (d.values() for d in real["AttributeDefinitions"]))), name
        assert _indexes(mine.get("GlobalSecondaryIndexes", [])) == \
            _indexes(real.get("GlobalSecondaryIndexes", [])), name
        assert _indexes(mine.get("LocalSecondaryIndexes", [])) == \
            _indexes(real.get("LocalSecondaryIndexes", [])), name
        assert mine["BillingMode"] == "PAY_PER_REQUEST"
        assert mine["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
        assert mine["SSESpecification"] == {"SSEEnabled": True}


def test_streams_and_ttl_follow_the_definitions(tpl):
    from chalicelib.tables import ALL_MODELS
    from infra.tables import logical_name, ttl_attribute

    tables = {p["TableName"]: p for p in _resources(tpl, "AWS::DynamoDB::Table").values()}
    for model in ALL_MODELS:
        props = tables[model.Meta.table_name]
        wanted = definitions.TABLE_OPTIONS.get(logical_name(model), {}).get("stream")
        assert props.get("StreamSpecification", {}).get("StreamViewType") == wanted
        ttl = ttl_attribute(model)
        assert props.get("TimeToLiveSpecification") == (
            {"AttributeName": ttl, "Enabled": True} if ttl else None)


def test_template_queues_equal_the_local_stack_queues(aws, tpl, monkeypatch):
    """GIVEN the local stack's queues (local/resources.provision) THEN the template declares
    the same names, visibility timeouts, retention and redrive to the same DLQ."""
    from local import resources

    for name in QUEUES:  # provision exports URLs; do not leak them into other tests
        monkeypatch.setenv(definitions.env_name(name, "queue_url"), "")
    for name in TOPICS:
        monkeypatch.setenv(definitions.env_name(name, "topic_arn"), "")
    monkeypatch.setenv("RECOUP_INBOUND_BUCKET", "")
    resources.provision()
    sqs = boto3.client("sqs")
    queues = _resources(tpl, "AWS::SQS::Queue")
    # each queue and its DLQ, plus the DLQ of event delivery (the outbox stream's failures)
    assert len(queues) == 2 * len(QUEUES) + 1
    assert queues[dlq_id("events")]["QueueName"] == resource_name("test", "events") + "-dlq"
    for name, spec in QUEUES.items():
        mine, dlq = queues[queue_id(name)], queues[dlq_id(name)]
        url = sqs.get_queue_url(QueueName=mine["QueueName"])["QueueUrl"]
        real = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        redrive = json.loads(real["RedrivePolicy"])
        assert mine["QueueName"] == resource_name("test", name)
        assert str(mine["VisibilityTimeout"]) == real["VisibilityTimeout"]
        assert str(mine["MessageRetentionPeriod"]) == real["MessageRetentionPeriod"]
        assert int(redrive["maxReceiveCount"]) == mine["RedrivePolicy"]["maxReceiveCount"]
        assert redrive["deadLetterTargetArn"].endswith(":" + dlq["QueueName"])
        dlq_url = sqs.get_queue_url(QueueName=dlq["QueueName"])["QueueUrl"]
        dlq_real = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["All"])[
            "Attributes"]
        assert str(dlq["MessageRetentionPeriod"]) == dlq_real["MessageRetentionPeriod"]
        # SQS event sources: visibility at least 6x the consumer's timeout (AWS guidance)
        assert spec["visibility_timeout"] >= 6 * spec["consumer_timeout"]
    local_topics = {t["TopicArn"].split(":")[-1]
                    for t in boto3.client("sns").list_topics()["Topics"]}
    assert local_topics == {p["TopicName"] for p in _resources(tpl, "AWS::SNS::Topic").values()}


def test_every_topic_and_the_ses_configuration_set_are_declared(tpl):
    topics = _resources(tpl, "AWS::SNS::Topic")
    assert {t["TopicName"] for t in topics.values()} == {
        resource_name("test", t) for t in TOPICS}
    assert {"ses-feedback", "sms-inbound"} <= set(TOPICS)
    # SES and CloudWatch cannot publish to topics under the AWS-managed aws/sns key
    assert all(t["KmsMasterKeyId"] == {"Ref": "TopicsKey"} for t in topics.values())
    key_policy = json.dumps(tpl["Resources"]["TopicsKey"]["Properties"]["KeyPolicy"])
    assert "ses.amazonaws.com" in key_policy and "cloudwatch.amazonaws.com" in key_policy
    [config_set] = _resources(tpl, "AWS::SES::ConfigurationSet").values()
    assert config_set["Name"] == chalice_environment("test")["RECOUP_SES_CONFIGURATION_SET"]
    [dest] = _resources(tpl, "AWS::SES::ConfigurationSetEventDestination").values()
    assert dest["EventDestination"]["SnsDestination"]["TopicARN"] == {
        "Ref": topic_id("ses-feedback")}
    assert {"bounce", "complaint"} <= set(dest["EventDestination"]["MatchingEventTypes"])


def test_alarms_cover_dlqs_every_function_ses_and_sms(tpl):
    alarms = _resources(tpl, "AWS::CloudWatch::Alarm")
    for name in QUEUES:
        assert dlq_id(name) + "DepthAlarm" in alarms
    assert {"APIHandlerErrorRateAlarm", "BearerErrorRateAlarm", "SesBounceRateAlarm",
            "SesComplaintRateAlarm", "SmsSpendAlarm"} <= set(alarms)
    assert all(a["AlarmActions"] == [{"Ref": topic_id("alerts")}] for a in alarms.values())


def test_functions_get_queue_urls_and_topic_arns_from_the_stack(tpl):
    from chalicelib.kernel import settings

    env = tpl["Globals"]["Function"]["Environment"]["Variables"]
    assert env["RECOUP_DISPATCH_QUEUE_URL"] == {"Ref": queue_id("dispatch")}
    assert env["RECOUP_SES_FEEDBACK_TOPIC_ARN"] == {"Ref": topic_id("ses-feedback")}
    assert env["RECOUP_SMS_INBOUND_TOPIC_ARN"] == {"Ref": topic_id("sms-inbound")}
    # settings reads the dispatch queue URL under this very name
    assert "RECOUP_DISPATCH_QUEUE_URL" in Path(settings.__file__).read_text()


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_chalice_stage_config_is_generated_from_the_definitions(stage):
    """.chalice/config.json holds what `make infra` writes: table prefix, SSM parameter
    names (never secret values), the configuration set, and the policy files."""
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    assert set(definitions.STAGES) <= set(config["stages"])
    block = config["stages"][stage]
    wanted = chalice_config(config, stage, consumers={})
    for key in ("environment_variables", "autogen_policy", "iam_policy_file"):
        assert block[key] == wanted[key], "run `make infra STAGE=" + stage + "`"
    for fn in definitions.FUNCTIONS:
        assert block["lambda_functions"][fn]["iam_policy_file"] == \
            wanted["lambda_functions"][fn]["iam_policy_file"]
    env = block["environment_variables"]
    assert env["RECOUP_TABLE_PREFIX"] == resource_name(stage, "")
    for secret in SECRETS:
        assert secret not in env
        assert env[f"{secret}_PARAM"].startswith(f"/recoup/{stage}/")
    assert block["autogen_policy"] is False


def _statements(doc: dict) -> list[dict]:
    return doc["Statement"]


def _as_list(x) -> list:
    return x if isinstance(x, list) else [x]


@pytest.mark.parametrize("function", [None, *definitions.FUNCTIONS])
def test_iam_policies_are_least_privilege(function):
    """No `*` action anywhere; no `*` resource except SMS to phone numbers (no ARN exists),
    which only the default role (queue consumers) carries; no Scan."""
    doc = policy("prod", function)
    for st in _statements(doc):
        for action in _as_list(st["Action"]):
            assert "*" not in action, st
            assert action != "dynamodb:Scan"
        if "*" in _as_list(st["Resource"]):
            assert function is None and st["Sid"] == SMS_SID, st
    text = json.dumps(doc)
    assert "recoup-dev-" not in text and "/recoup/dev/" not in text


def test_iam_scopes_tables_indexes_queues_and_parameters():
    from chalicelib.tables import ALL_MODELS

    api = json.dumps(policy("prod", "api_handler"))
    for model in ALL_MODELS:
        name = model.Meta.table_name.replace("recoup-test-", "recoup-prod-")
        assert f"table/{name}}}" in api or f'table/{name}"' in api
        for index in model._indexes:
            assert f"table/{name}/index/{index}" in api
    assert ":recoup-prod-dispatch" in api
    assert "parameter/recoup/prod/stripe-webhook-secret" in api
    bearer = json.dumps(policy("prod", "bearer"))
    assert "dynamodb" not in bearer and "sqs" not in bearer and "stripe" not in bearer
    assert "parameter/recoup/prod/recoup-jwt-secret" in bearer


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_queue_consumers_time_out_well_inside_the_visibility_timeout(stage):
    """A consumer still running when its message becomes visible again gets a twin."""
    from infra.functions import queue_consumers

    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    block = chalice_config(config, stage)
    for fn, queue in queue_consumers(stage).items():
        timeout = block["lambda_functions"].get(fn, {}).get(
            "lambda_timeout", block.get("lambda_timeout", 60))
        assert QUEUES[queue]["visibility_timeout"] >= 6 * timeout, fn


def test_handlers_others_add_are_picked_up_without_editing_infra(monkeypatch):
    """GIVEN an app with a dispatch consumer, a sweep schedule, SNS webhooks and a stream
    consumer (what dunning, channels and reporting are adding)
    THEN each gets an error-rate alarm, the consumer a timeout inside the visibility
    timeout, and the stream consumer its table's StreamArn from the stack."""
    from chalice import Chalice

    from infra import functions
    from chalicelib.kernel.naming import stream_arn
    from infra.definitions import SCHEDULES

    app = Chalice(app_name="recoup")

    @app.route("/")
    def index():
        return {}

    @app.on_sqs_message(queue=resource_name("prod", "dispatch"), batch_size=5)
    def dispatch(event):
        return None

    @app.schedule(SCHEDULES["dunning-sweep"])
    def dunning_sweep(event):
        return None

    @app.on_sns_message(topic=resource_name("prod", "ses-feedback"))
    def ses_feedback(event):
        return None

    @app.on_dynamodb_record(stream_arn=stream_arn("prod", "invoices"))
    def reporting(event):
        return None

    monkeypatch.setattr(functions, "_app", lambda: app)
    tpl = template("prod")
    alarms = _resources(tpl, "AWS::CloudWatch::Alarm")
    for fn in ("APIHandler", "Dispatch", "DunningSweep", "SesFeedback", "Reporting"):
        assert fn + "ErrorRateAlarm" in alarms
    assert tpl["Resources"]["Reporting"] == {"Properties": {"Events": {
        "ReportingDynamodbEventSource": {"Properties": {
            "Stream": {"Fn::GetAtt": ["InvoicesTable", "StreamArn"]}}}}}}
    block = chalice_config({"stages": {}}, "prod")
    assert block["lambda_functions"]["dispatch"]["lambda_timeout"] == \
        QUEUES["dispatch"]["consumer_timeout"]


@pytest.mark.parametrize("stage", ["local", "test", "dev", "prod"])
def test_models_and_infra_use_the_same_table_names(monkeypatch, stage):
    from chalicelib.kernel import settings

    monkeypatch.setenv("RECOUP_STAGE", stage)
    monkeypatch.delenv("RECOUP_TABLE_PREFIX", raising=False)
    assert settings.table_prefix() == resource_name(stage, "")


def test_event_delivery_reads_the_outbox_stream_and_reports_partial_failures():
    """GIVEN the app's event delivery function (kernel/jobs.py) THEN its stream mapping is
    the outbox table's stream, reports batch item failures, retries a bounded number of
    times and sends what still fails to the alarmed events DLQ."""
    from infra.functions import event_wiring
    from infra.messaging import dlq_id as events_dlq

    patches = event_wiring("test")  # handlers name their stage's resources at import
    (fn,) = [f for name, f in patches.items() if "EventDelivery" in name]
    (mapping,) = fn["Properties"]["Events"].values()
    props = mapping["Properties"]
    assert props["Stream"] == {"Fn::GetAtt": ["OutboxTable", "StreamArn"]}
    assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert props["MaximumRetryAttempts"] == definitions.EVENT_DELIVERY["max_retries"]
    assert props["DestinationConfig"]["OnFailure"]["Destination"] == {
        "Fn::GetAtt": [events_dlq("events"), "Arn"]}


def test_replies_reach_the_inbound_bucket_and_the_ses_inbound_function(aws, monkeypatch):
    """GIVEN the app's functions (jobs.ses_inbound among them)
    THEN a receipt rule for the ReplyDomains parameter stores each reply at inbound/ in the
    private, TLS-only bucket and then invokes ses_inbound; SES may write only there, only
    for this rule, and invoke only that function; the function reads the bucket by its
    environment name and may read inbound/ and write attachments/; the local stack makes
    the bucket under the same name."""
    from infra.functions import function_names
    from infra.inbound import rule_name, rule_set_name
    from local import resources

    tpl = template("prod", functions=function_names(), wiring={})
    res = tpl["Resources"]
    bucket = res["InboundMailBucket"]
    assert bucket["Properties"]["BucketName"] == {"Fn::Sub": "recoup-prod-inbound-${AWS::AccountId}"}
    assert bucket["DeletionPolicy"] == "Retain"
    assert all(bucket["Properties"]["PublicAccessBlockConfiguration"].values())
    rule = res["InboundReceiptRule"]
    assert rule["Condition"] == "HasReplyDomains"
    assert res["InboundReceiptRuleSet"]["Properties"]["RuleSetName"] == rule_set_name("prod")
    spec = rule["Properties"]["Rule"]
    assert spec["Recipients"] == {"Ref": "ReplyDomains"}
    assert spec["Name"] == rule_name("prod") and spec["TlsPolicy"] == "Require"
    s3_action, lambda_action = (a for a in spec["Actions"])  # store first, then invoke
    assert s3_action["S3Action"] == {"BucketName": {"Ref": "InboundMailBucket"},
                                     "ObjectKeyPrefix": "inbound/"}
    assert lambda_action["LambdaAction"]["FunctionArn"] == {"Fn::GetAtt": ["SesInbound", "Arn"]}
    assert set(rule["DependsOn"]) == {"InboundMailBucketPolicy", "SesInboundInvokePermission"}
    rule_arn = {"Fn::Sub": "arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:"
                           "receipt-rule-set/recoup-prod-inbound:receipt-rule/recoup-prod-replies"}
    [allow, deny] = res["InboundMailBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert allow["Principal"] == {"Service": "ses.amazonaws.com"}
    assert allow["Action"] == "s3:PutObject"
    assert allow["Resource"]["Fn::Sub"].endswith("/inbound/*")
    assert allow["Condition"]["ArnLike"]["AWS:SourceArn"] == rule_arn
    assert deny["Effect"] == "Deny" and deny["Condition"] == {
        "Bool": {"aws:SecureTransport": "false"}}
    permission = res["SesInboundInvokePermission"]["Properties"]
    assert permission["FunctionName"] == {"Ref": "SesInbound"}
    assert permission["Principal"] == "ses.amazonaws.com"
    assert permission["SourceArn"] == rule_arn
    env = tpl["Globals"]["Function"]["Environment"]["Variables"]
    assert env["RECOUP_INBOUND_BUCKET"] == {"Ref": "InboundMailBucket"}
    text = json.dumps(policy("prod"))
    assert "recoup-prod-inbound-${AWS::AccountId}/inbound/*" in text
    assert "recoup-prod-inbound-${AWS::AccountId}/attachments/*" in text
    assert "s3" not in json.dumps(policy("prod", "bearer"))
    # the local stack: the same name with moto's account id, exported to the handler
    monkeypatch.setenv("RECOUP_INBOUND_BUCKET", "")
    name = resources.provision_inbound()
    assert name == definitions.inbound_bucket("test", "123456789012")
    assert __import__("os").environ["RECOUP_INBOUND_BUCKET"] == name
    assert name in {b["Name"] for b in boto3.client("s3").list_buckets()["Buckets"]}


def test_cfn_lint_accepts_the_inbound_mail_resources(tmp_path):
    """The receipt rule, bucket, policy and permission lint clean (E rules) on their own,
    with a stand-in for the function Chalice writes."""
    from cfnlint.api import ManualArgs, lint_file

    from infra.functions import function_names
    from infra.inbound import inbound_resources

    tpl = template("prod", functions=function_names(), wiring={})
    res = inbound_resources("prod", function_names())
    res["SesInbound"] = {"Type": "AWS::Lambda::Function", "Properties": {
        "Role": "arn:aws:iam::123456789012:role/x", "Runtime": "python3.12",
        "Handler": "app.ses_inbound", "Code": {"ZipFile": "def ses_inbound(e, c): pass"}}}
    doc = {"AWSTemplateFormatVersion": "2010-09-09",
           "Parameters": {"ReplyDomains": tpl["Parameters"]["ReplyDomains"]},
           "Conditions": {"HasReplyDomains": tpl["Conditions"]["HasReplyDomains"]},
           "Resources": res}
    path = tmp_path / "inbound.json"
    path.write_text(json.dumps(doc))
    matches = lint_file(path, ManualArgs(regions=["eu-west-2", "us-east-1"]))
    errors = [f"{m.rule.id} {m.message}" for m in matches if m.rule.id.startswith("E")]
    assert not errors, "\n".join(errors)

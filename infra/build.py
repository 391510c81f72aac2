"""`python -m infra.build --stage prod`: the CloudFormation Chalice does not make itself.

Writes build/infra-<stage>.json (merged into `chalice package --merge-template`), the IAM
policy files .chalice/policy-<stage>*.json, and keeps the stage's environment and policy
settings in .chalice/config.json in step. Tables come from ALL_MODELS, the rest from
infra/definitions.py, functions from the Chalice app: nothing here needs editing when a
model, queue, topic or handler is added.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from infra.alarms import alarm_resources
from infra.definitions import (
    FUNCTIONS, QUEUES, SECRETS, SES_CONFIGURATION_SET, TOPICS, env_name, resource_name,
    secret_parameter,
)
from infra.functions import event_wiring, function_logical_id, function_names, queue_consumers
from infra.messaging import (
    SES_CONFIG_SET_ID, queue_id, queue_resources, ses_outputs, ses_resources, topic_id,
    topic_resources,
)
from infra.inbound import BUCKET_ID as INBOUND_BUCKET_ID, CONDITION as HAS_REPLY_DOMAINS
from infra.inbound import RULE_SET_ID, inbound_resources
from infra.policies import all_policies, policy_filename
from infra.tables import table_resources

ROOT = Path(__file__).resolve().parents[1]
DEPLOYED_STAGES = ("dev", "prod")


def chalice_environment(stage: str) -> dict[str, str]:
    """Plain values for .chalice/config.json (names follow the one naming rule)."""
    env = {
        "RECOUP_STAGE": stage,
        "RECOUP_TABLE_PREFIX": resource_name(stage, ""),
        "RECOUP_SES_CONFIGURATION_SET": resource_name(stage, SES_CONFIGURATION_SET["name"]),
    }
    for secret in SECRETS:
        env[f"{secret}_PARAM"] = secret_parameter(stage, secret)
    return env


def template_environment() -> dict:
    """Values only the stack knows (queue URLs, topic ARNs), for every function via Globals."""
    env: dict = {}
    for name in QUEUES:
        env[env_name(name, "queue_url")] = {"Ref": queue_id(name)}
    for name in TOPICS:
        env[env_name(name, "topic_arn")] = {"Ref": topic_id(name)}
    env["RECOUP_INBOUND_BUCKET"] = {"Ref": INBOUND_BUCKET_ID}  # dunning/inbound_email
    return env


def gateway_response_resources() -> dict:
    """Refused tokens answer 401 in the API's one error shape (see chalicelib/http/authorizer)."""
    from chalicelib.http.authorizer import gateway_responses

    out = {}
    for kind, r in gateway_responses().items():
        lid = "GatewayResponse" + "".join(w.title() for w in kind.split("_"))
        out[lid] = {"Type": "AWS::ApiGateway::GatewayResponse", "Properties": {
            "RestApiId": {"Ref": "RestAPI"}, "ResponseType": kind,
            "StatusCode": str(r["status"]),
            "ResponseParameters": {f"gatewayresponse.header.{k}": f"'{v}'"
                                   for k, v in r["headers"].items()},
            "ResponseTemplates": {"application/json": r["body"]}}}
    return out


def template(stage: str, functions: list[str] | None = None,
             wiring: dict | None = None) -> dict:
    functions = function_names() if functions is None else functions
    wiring = event_wiring(stage) if wiring is None else wiring
    resources: dict = dict(wiring)  # patches to Chalice's functions, merged by chalice
    api_name = None
    if "api_handler" in functions:
        # a known name for the API (the 5XX alarm's dimension) instead of the swagger title
        api_name = resource_name(stage, "api")
        resources["RestAPI"] = {"Properties": {"Name": api_name}}
        resources.update(gateway_response_resources())
    for part in (table_resources(stage), queue_resources(stage), topic_resources(stage),
                 ses_resources(stage), inbound_resources(stage, functions),
                 alarm_resources(functions, api_name)):
        overlap = resources.keys() & part.keys()
        assert not overlap, f"logical ids defined twice: {overlap}"
        resources.update(part)
    chalice_ids = {function_logical_id(f) for f in functions}
    chalice_ids |= {i + "Role" for i in chalice_ids} | {"ApiHandlerRole", "DefaultRole"}
    clash = (resources.keys() - wiring.keys() - {"RestAPI"}) & chalice_ids
    assert not clash, f"infra and Chalice would both define {clash}: rename one"
    resources["AlertsEmailSubscription"] = {
        "Type": "AWS::SNS::Subscription", "Condition": "HasAlarmEmail",
        "Properties": {"TopicArn": {"Ref": topic_id("alerts")}, "Protocol": "email",
                       "Endpoint": {"Ref": "AlarmEmail"}}}
    outputs = {lid + "Name": {"Value": {"Ref": lid}}
               for lid, r in resources.items() if r.get("Type") == "AWS::DynamoDB::Table"}
    outputs.update({queue_id(q) + "Url": {"Value": {"Ref": queue_id(q)}} for q in QUEUES})
    outputs.update({topic_id(t) + "Arn": {"Value": {"Ref": topic_id(t)}} for t in TOPICS})
    outputs["SesConfigurationSetName"] = {"Value": {"Ref": SES_CONFIG_SET_ID}}
    outputs.update(ses_outputs())
    outputs["InboundMailBucketName"] = {"Value": {"Ref": INBOUND_BUCKET_ID}}
    if RULE_SET_ID in resources:
        outputs["InboundReceiptRuleSetName"] = {"Condition": HAS_REPLY_DOMAINS,
                                               "Value": {"Ref": RULE_SET_ID}}
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": f"Recoup ({stage}): tables, queues, topics, SES, inbound mail, alarms",
        "Parameters": {
            "AlarmEmail": {"Type": "String", "Default": "",
                           "Description": "Address subscribed to the alerts topic (optional)"},
            "SenderDomain": {"Type": "String", "Default": "",
                             "Description": "Domain to verify in SES with DKIM (optional)"},
            "SmsSpendAlarmUsd": {"Type": "Number", "Default": 80,
                                 "Description": "Alarm when SMS month-to-date spend reaches"},
            "ReplyDomains": {"Type": "CommaDelimitedList", "Default": "",
                             "Description": "Domains whose mail SES receives as debtors' "
                                            "replies (the clients' reply_domain settings; "
                                            "MX to inbound-smtp.<region>.amazonaws.com)"},
        },
        "Conditions": {
            "HasAlarmEmail": {"Fn::Not": [{"Fn::Equals": [{"Ref": "AlarmEmail"}, ""]}]},
            "HasSenderDomain": {"Fn::Not": [{"Fn::Equals": [{"Ref": "SenderDomain"}, ""]}]},
            HAS_REPLY_DOMAINS: {"Fn::Not": [{"Fn::Equals": [
                {"Fn::Join": ["", {"Ref": "ReplyDomains"}]}, ""]}]},
        },
        "Globals": {"Function": {"Environment": {"Variables": template_environment()}}},
        "Resources": resources,
        "Outputs": outputs,
    }


def chalice_config(config: dict, stage: str, consumers: dict[str, str] | None = None) -> dict:
    """The stage block of .chalice/config.json with our keys set and everyone else's kept.
    Queue consumers get the queue's consumer_timeout unless a timeout is already set."""
    block = dict(config.get("stages", {}).get(stage, {}))
    block.setdefault("api_gateway_stage", "api")
    block["environment_variables"] = {**block.get("environment_variables", {}),
                                      **chalice_environment(stage)}
    # pydantic, jinja2 and stripe want more than Chalice's 128 MB default (and the CPU
    # that comes with it); the cost model assumes 512.
    block.setdefault("lambda_memory_size", 512)
    block["autogen_policy"] = False
    block["iam_policy_file"] = policy_filename(stage)
    lambdas = dict(block.get("lambda_functions", {}))
    for fn in FUNCTIONS:
        lambdas[fn] = {**lambdas.get(fn, {}), "iam_policy_file": policy_filename(stage, fn)}
    consumers = queue_consumers(stage) if consumers is None else consumers
    for fn, queue in consumers.items():
        lambdas[fn] = {"lambda_timeout": QUEUES[queue]["consumer_timeout"], **lambdas.get(fn, {})}
    block["lambda_functions"] = lambdas
    return block


def write(stage: str, out_dir: Path = ROOT / "build", chalice_dir: Path = ROOT / ".chalice",
          functions: list[str] | None = None) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"infra-{stage}.json"
    path.write_text(json.dumps(template(stage, functions), indent=2) + "\n")
    for name, doc in all_policies(stage).items():
        (chalice_dir / name).write_text(json.dumps(doc, indent=2) + "\n")
    cfg_path = chalice_dir / "config.json"
    config = json.loads(cfg_path.read_text())
    config.setdefault("stages", {})[stage] = chalice_config(config, stage)
    cfg_path.write_text(json.dumps(config, indent=2) + "\n")
    return path


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stage", default="prod", choices=DEPLOYED_STAGES)
    args = parser.parse_args(argv)
    # Model table names are fixed at import; import them under the target stage's name.
    os.environ["RECOUP_STAGE"] = args.stage
    os.environ.pop("RECOUP_TABLE_PREFIX", None)
    print(write(args.stage))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""CloudWatch alarms: DLQ depth, Lambda error rate, API 5XX, SES reputation, SMS spend."""
from __future__ import annotations

from infra.definitions import ALARMS, EVENT_DELIVERY, QUEUES
from infra.functions import function_logical_id
from infra.messaging import dlq_id, topic_id

ALERTS = {"Ref": topic_id("alerts")}


def _alarm(description: str, **props) -> dict:
    return {"Type": "AWS::CloudWatch::Alarm", "Properties": {
        "AlarmDescription": description, "AlarmActions": [ALERTS], "OKActions": [ALERTS],
        "TreatMissingData": "notBreaching", **props}}


def _dlq_alarms() -> dict[str, dict]:
    spec = ALARMS["dlq_depth"]
    return {dlq_id(name) + "DepthAlarm": _alarm(
        f"Messages in the {name} DLQ: work failed {q['max_receive']} times and stopped",
        Namespace="AWS/SQS", MetricName="ApproximateNumberOfMessagesVisible",
        Dimensions=[{"Name": "QueueName",
                     "Value": {"Fn::GetAtt": [dlq_id(name), "QueueName"]}}],
        Statistic="Maximum", Period=300, EvaluationPeriods=1,
        Threshold=spec["threshold"], ComparisonOperator="GreaterThanOrEqualToThreshold",
    ) for name, q in {**QUEUES, EVENT_DELIVERY["dlq"]: {
        "max_receive": EVENT_DELIVERY["max_retries"] + 1}}.items()}


def _error_rate_alarm(fn: str) -> dict:
    spec = ALARMS["error_rate"]
    dims = [{"Name": "FunctionName", "Value": {"Ref": function_logical_id(fn)}}]

    def metric(mid: str, name: str) -> dict:
        return {"Id": mid, "ReturnData": False, "MetricStat": {
            "Metric": {"Namespace": "AWS/Lambda", "MetricName": name, "Dimensions": dims},
            "Period": spec["period"], "Stat": "Sum"}}

    return _alarm(
        f"{fn}: more than {spec['threshold']:.0%} of invocations failed",
        Metrics=[metric("errors", "Errors"), metric("invocations", "Invocations"),
                 {"Id": "rate", "Expression": "IF(invocations > 0, errors / invocations, 0)",
                  "Label": "error rate", "ReturnData": True}],
        EvaluationPeriods=1, Threshold=spec["threshold"],
        ComparisonOperator="GreaterThanThreshold")


def _account_alarms(api_name: str | None) -> dict[str, dict]:
    out = {
        "SesBounceRateAlarm": _alarm(
            "SES bounce rate nearing the 5% review threshold",
            Namespace="AWS/SES", MetricName="Reputation.BounceRate", Statistic="Maximum",
            Period=3600, EvaluationPeriods=1, Threshold=ALARMS["ses_bounce_rate"]["threshold"],
            ComparisonOperator="GreaterThanOrEqualToThreshold"),
        "SesComplaintRateAlarm": _alarm(
            "SES complaint rate nearing the 0.1% review threshold",
            Namespace="AWS/SES", MetricName="Reputation.ComplaintRate", Statistic="Maximum",
            Period=3600, EvaluationPeriods=1,
            Threshold=ALARMS["ses_complaint_rate"]["threshold"],
            ComparisonOperator="GreaterThanOrEqualToThreshold"),
        "SmsSpendAlarm": _alarm(
            "SNS SMS month-to-date spend over budget (sending stops silently at the limit)",
            Namespace="AWS/SNS", MetricName="SMSMonthToDateSpentUSD", Statistic="Maximum",
            Period=3600, EvaluationPeriods=1, Threshold={"Ref": "SmsSpendAlarmUsd"},
            ComparisonOperator="GreaterThanOrEqualToThreshold"),
    }
    if api_name:
        out["Api5xxAlarm"] = _alarm(
            "API Gateway returned server errors",
            Namespace="AWS/ApiGateway", MetricName="5XXError", Statistic="Sum",
            Dimensions=[{"Name": "ApiName", "Value": api_name}],
            Period=ALARMS["api_5xx"]["period"], EvaluationPeriods=1,
            Threshold=ALARMS["api_5xx"]["threshold"],
            ComparisonOperator="GreaterThanOrEqualToThreshold")
    return out


def alarm_resources(functions: list[str], api_name: str | None = None) -> dict[str, dict]:
    out = _dlq_alarms()
    for fn in functions:
        out[function_logical_id(fn) + "ErrorRateAlarm"] = _error_rate_alarm(fn)
    out.update(_account_alarms(api_name))
    return out

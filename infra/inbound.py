"""SES receiving for debtors' replies, from infra/definitions.INBOUND_MAIL: the inbound
bucket (private, encrypted, TLS only) with the bucket policy that lets SES write raw
messages, the receipt rule set and its rule (store in S3, then invoke the Lambda), and the
Lambda permission for SES.

SES keeps one *active* receipt rule set per account and region, and CloudFormation cannot
activate one: after the first deploy run
`aws ses set-active-receipt-rule-set --rule-set-name recoup-<stage>-inbound` (README)."""
from __future__ import annotations

from infra.definitions import INBOUND_MAIL, inbound_bucket, resource_name
from infra.functions import function_logical_id

BUCKET_ID = "InboundMailBucket"
BUCKET_POLICY_ID = "InboundMailBucketPolicy"
RULE_SET_ID = "InboundReceiptRuleSet"
RULE_ID = "InboundReceiptRule"
PERMISSION_ID = "SesInboundInvokePermission"
CONDITION = "HasReplyDomains"


def rule_set_name(stage: str) -> str:
    return resource_name(stage, INBOUND_MAIL["rule_set"])


def rule_name(stage: str) -> str:
    return resource_name(stage, INBOUND_MAIL["rule"])


def _rule_arn(stage: str) -> dict:
    return {"Fn::Sub": "arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:"
                       f"receipt-rule-set/{rule_set_name(stage)}:receipt-rule/{rule_name(stage)}"}


def _bucket_arn(stage: str, path: str = "") -> dict:
    return {"Fn::Sub": f"arn:${{AWS::Partition}}:s3:::{inbound_bucket(stage)}{path}"}


def inbound_resources(stage: str, functions: list[str]) -> dict[str, dict]:
    """The bucket always (the handler fails closed without it); the rule and the Lambda
    permission when the app has the handler, the rule only with ReplyDomains given."""
    keep = "Retain" if stage == "prod" else "Delete"
    out: dict[str, dict] = {
        BUCKET_ID: {"Type": "AWS::S3::Bucket", "DeletionPolicy": keep,
                    "UpdateReplacePolicy": keep, "Properties": {
                        "BucketName": {"Fn::Sub": inbound_bucket(stage)},
                        "BucketEncryption": {"ServerSideEncryptionConfiguration": [
                            {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]},
                        "PublicAccessBlockConfiguration": {
                            "BlockPublicAcls": True, "BlockPublicPolicy": True,
                            "IgnorePublicAcls": True, "RestrictPublicBuckets": True},
                        "OwnershipControls": {"Rules": [
                            {"ObjectOwnership": "BucketOwnerEnforced"}]},
                        "LifecycleConfiguration": {"Rules": [{
                            "Id": "raw-replies-expire", "Status": "Enabled",
                            "Prefix": INBOUND_MAIL["prefix"],
                            "ExpirationInDays": INBOUND_MAIL["raw_retention_days"]}]},
                    }},
        BUCKET_POLICY_ID: {"Type": "AWS::S3::BucketPolicy", "Properties": {
            "Bucket": {"Ref": BUCKET_ID},
            "PolicyDocument": {"Version": "2012-10-17", "Statement": [
                {"Sid": "SesStoresReplies", "Effect": "Allow",
                 "Principal": {"Service": "ses.amazonaws.com"}, "Action": "s3:PutObject",
                 "Resource": _bucket_arn(stage, f"/{INBOUND_MAIL['prefix']}*"),
                 "Condition": {"StringEquals": {"AWS:SourceAccount": {"Ref": "AWS::AccountId"}},
                               "ArnLike": {"AWS:SourceArn": _rule_arn(stage)}}},
                {"Sid": "TlsOnly", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
                 "Resource": [_bucket_arn(stage), _bucket_arn(stage, "/*")],
                 "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
            ]}}},
    }
    if INBOUND_MAIL["function"] not in functions:
        return out
    fn = function_logical_id(INBOUND_MAIL["function"])
    out[PERMISSION_ID] = {"Type": "AWS::Lambda::Permission", "Properties": {
        "Action": "lambda:InvokeFunction", "FunctionName": {"Ref": fn},
        "Principal": "ses.amazonaws.com", "SourceAccount": {"Ref": "AWS::AccountId"},
        "SourceArn": _rule_arn(stage)}}
    out[RULE_SET_ID] = {"Type": "AWS::SES::ReceiptRuleSet", "Condition": CONDITION,
                        "Properties": {"RuleSetName": rule_set_name(stage)}}
    out[RULE_ID] = {"Type": "AWS::SES::ReceiptRule", "Condition": CONDITION,
                    # SES checks it may write to the bucket and invoke the function
                    "DependsOn": [BUCKET_POLICY_ID, PERMISSION_ID],
                    "Properties": {"RuleSetName": {"Ref": RULE_SET_ID}, "Rule": {
                        "Name": rule_name(stage), "Enabled": True, "ScanEnabled": True,
                        "TlsPolicy": "Require", "Recipients": {"Ref": "ReplyDomains"},
                        "Actions": [
                            {"S3Action": {"BucketName": {"Ref": BUCKET_ID},
                                          "ObjectKeyPrefix": INBOUND_MAIL["prefix"]}},
                            {"LambdaAction": {"FunctionArn": {"Fn::GetAtt": [fn, "Arn"]},
                                              "InvocationType": "Event"}},
                        ]}}}
    return out


def inbound_policy_statements(stage: str) -> list[dict]:
    """What the receiving function needs: read the raw message, keep its attachments."""
    return [
        {"Sid": "ReadInboundMail", "Effect": "Allow", "Action": ["s3:GetObject"],
         "Resource": _bucket_arn(stage, f"/{INBOUND_MAIL['prefix']}*")},
        {"Sid": "KeepReplyAttachments", "Effect": "Allow", "Action": ["s3:PutObject"],
         "Resource": _bucket_arn(stage, f"/{INBOUND_MAIL['attachments']}*")},
    ]

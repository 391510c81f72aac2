"""SMS through SNS Publish. An opted-out number is a permanent failure; a failed publish
(spend limit, throttling) is a failed touch, never a sent one."""
from __future__ import annotations

from botocore.exceptions import ClientError

from chalicelib.kernel import adapters as wiring
from chalicelib.dunning.channels import Message, Sent


class SnsSms:
    def send(self, message: Message) -> Sent:
        sns = wiring.aws("sns")
        try:
            if sns.check_if_phone_number_is_opted_out(
                    phoneNumber=message.to).get("isOptedOut"):
                return Sent(False, error="number opted out of SMS", permanent=True)
            out = sns.publish(PhoneNumber=message.to, Message=message.text, MessageAttributes={
                "AWS.SNS.SMS.SMSType": {"DataType": "String", "StringValue": "Transactional"}})
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            return Sent(False, error=f"{code}: {exc}", permanent=code == "InvalidParameter")
        if not out.get("MessageId"):
            return Sent(False, error="SNS returned no message id")
        return Sent(True, message_id=out["MessageId"])

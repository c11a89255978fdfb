"""A boto3 producer and consumer of the shape the seeds' Python scripts use (send_message,
receive_message, delete_message), run by test/clients/real-clients.test.ts with Debian's
/usr/bin/python3 and python3-boto3 (botocore 1.29, SQS on the query protocol).

    /usr/bin/python3 boto3-client.py ENDPOINT < request.json

request: {"queue_url": ..., "send": [{"body": ..., "key": ... | null}], "receive": N,
          "missing_queue": NAME (asks for its URL, expecting boto3's QueueDoesNotExist)}
Prints one JSON object: the client's protocol and version, the ids of the messages sent, and the
messages received (body, attributes, message attributes), each deleted once read.
"""

import hashlib
import json
import sys

import boto3
import botocore


def md5(text):
    return hashlib.md5(text.encode("utf-8")).hexdigest()


def main():
    endpoint = sys.argv[1]
    request = json.load(sys.stdin)
    sqs = boto3.client("sqs", endpoint_url=endpoint)
    queue_url = request["queue_url"]

    sent = []
    for item in request.get("send", []):
        attributes = {}
        if item.get("key") is not None:
            attributes["IdempotencyKey"] = {"DataType": "String", "StringValue": item["key"]}
        answer = sqs.send_message(
            QueueUrl=queue_url, MessageBody=item["body"], MessageAttributes=attributes
        )
        md5_ok = answer["MD5OfMessageBody"] == md5(item["body"])
        sent.append({"messageId": answer["MessageId"], "md5Ok": md5_ok})

    received = []
    wanted = request.get("receive", 0)
    polls = 0
    while len(received) < wanted and polls < 20:
        polls += 1
        answer = sqs.receive_message(
            QueueUrl=queue_url,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=1,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        for message in answer.get("Messages", []):
            received.append(
                {
                    "body": message["Body"],
                    "md5Ok": message["MD5OfBody"] == md5(message["Body"]),
                    "attributes": message.get("Attributes", {}),
                    "messageAttributes": {
                        name: value.get("StringValue")
                        for name, value in message.get("MessageAttributes", {}).items()
                    },
                }
            )
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])

    error = None
    if request.get("missing_queue") is not None:
        try:
            sqs.get_queue_url(QueueName=request["missing_queue"])
        except sqs.exceptions.QueueDoesNotExist as caught:
            error = {"exception": "QueueDoesNotExist", "code": caught.response["Error"]["Code"]}

    print(
        json.dumps(
            {
                "protocol": sqs.meta.service_model.protocol,
                "botocore": botocore.__version__,
                "sent": sent,
                "received": received,
                "error": error,
            }
        )
    )


if __name__ == "__main__":
    main()

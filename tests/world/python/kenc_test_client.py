#!/usr/bin/python3
"""A real Python Kafka client (confluent-kafka, i.e. librdkafka) for kenc's integration tests.

Speaks the same JSON lines as tests/world/java/KencTestClient.java, so the C++ wrapper
(tests/world/kafka/python_client.h) hands tests the same TestRecord values:

  produce --bootstrap B --topic T [--prop k=v]...
      stdin: one record per line {"key": b64|null, "value": b64|null,
             "headers": [{"key": str, "value": b64|null}], "partition": int?, "timestamp": int?}
      stdout: one line per record, in input order: {"partition": int, "offset": int}
  consume --bootstrap B --topic T --count N [--timeout-ms MS] [--group G] [--prop k=v]...
      stdout: one line per record {"topic","partition","offset","timestamp","timestampType",
              "key","value","headers"} (bytes in base64, null for null)
      Without --group: assigns every partition from the beginning, commits nothing.

Exit codes: 0 done, 3 consume timed out before --count records, 1 error (message on stderr).
"""
import argparse
import base64
import json
import sys
import time

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition
from confluent_kafka import OFFSET_BEGINNING, TIMESTAMP_CREATE_TIME, TIMESTAMP_LOG_APPEND_TIME


def b64(data):
    return None if data is None else base64.b64encode(data).decode("ascii")


def unb64(text):
    return None if text is None else base64.b64decode(text)


def properties(pairs):
    conf = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ValueError("expected k=v for --prop, got " + repr(pair))
        conf[key] = value
    return conf


def produce(args):
    conf = {"bootstrap.servers": args.bootstrap}
    conf.update(properties(args.prop))
    producer = Producer(conf)
    results = []
    errors = []

    def delivered(index):
        def report(err, msg):
            if err is not None:
                errors.append("record %d: %s" % (index, err))
            else:
                results[index] = {"partition": msg.partition(), "offset": msg.offset()}
        return report

    for index, line in enumerate(l for l in sys.stdin if l.strip()):
        record = json.loads(line)
        results.append(None)
        kwargs = {"key": unb64(record.get("key")), "value": unb64(record.get("value")),
                  "on_delivery": delivered(index)}
        headers = [(h["key"], unb64(h.get("value"))) for h in record.get("headers", [])]
        if headers:
            kwargs["headers"] = headers
        if record.get("partition", -1) >= 0:
            kwargs["partition"] = record["partition"]
        if record.get("timestamp", -1) >= 0:
            kwargs["timestamp"] = record["timestamp"]
        while True:
            try:
                producer.produce(args.topic, **kwargs)
                break
            except BufferError:  # local queue full: serve delivery reports, then retry
                producer.poll(0.1)
        producer.poll(0)
    remaining = producer.flush(args.timeout_ms / 1000.0)
    if remaining or errors or any(r is None for r in results):
        print("produce failed: %d undelivered; %s" % (remaining, "; ".join(errors[:5])),
              file=sys.stderr)
        return 1
    for r in results:
        print(json.dumps(r))
    return 0


def consume(args):
    conf = {"bootstrap.servers": args.bootstrap, "enable.partition.eof": False}
    if args.group:
        conf.update({"group.id": args.group, "auto.offset.reset": "earliest"})
    else:
        # librdkafka needs a group id even for manual assignment; nothing is committed with it.
        conf.update({"group.id": "kenc-python-assign", "enable.auto.commit": False})
    conf.update(properties(args.prop))
    consumer = Consumer(conf)
    try:
        if args.group:
            consumer.subscribe([args.topic])
        else:
            metadata = consumer.list_topics(args.topic, timeout=10)
            topic = metadata.topics.get(args.topic)
            if topic is None or topic.error is not None:
                raise KafkaException(topic.error if topic else "unknown topic " + args.topic)
            consumer.assign([TopicPartition(args.topic, p, OFFSET_BEGINNING)
                             for p in sorted(topic.partitions)])
        received = 0
        deadline = time.monotonic() + args.timeout_ms / 1000.0
        while received < args.count and time.monotonic() < deadline:
            msg = consumer.poll(0.2)
            if msg is None:
                continue
            if msg.error():
                raise KafkaException(msg.error())
            ts_type, ts = msg.timestamp()
            type_name = {TIMESTAMP_CREATE_TIME: "CreateTime",
                         TIMESTAMP_LOG_APPEND_TIME: "LogAppendTime"}.get(ts_type, "NoTimestampType")
            print(json.dumps({
                "topic": msg.topic(), "partition": msg.partition(), "offset": msg.offset(),
                "timestamp": ts, "timestampType": type_name,
                "key": b64(msg.key()), "value": b64(msg.value()),
                "headers": [{"key": k, "value": b64(v)} for k, v in (msg.headers() or [])],
            }))
            received += 1
        sys.stdout.flush()
        return 0 if received >= args.count else 3
    finally:
        consumer.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=["produce", "consume"])
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--count", type=int, default=0)
    parser.add_argument("--timeout-ms", type=int, default=60000)
    parser.add_argument("--group", default="")
    parser.add_argument("--prop", action="append")
    args = parser.parse_args()
    try:
        return produce(args) if args.mode == "produce" else consume(args)
    except Exception as e:  # the C++ wrapper shows this text in the test failure
        print("kenc_test_client.py: %s: %s" % (type(e).__name__, e), file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())

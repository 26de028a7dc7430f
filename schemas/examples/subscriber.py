#!/usr/bin/env python3
"""A wowlogs subscriber in Python: confluent-kafka (librdkafka) and fastavro, nothing of
wowlogs but the published .avsc files and the documented framing (schemas/README.md,
docs/subscribers.md).

Reads the four topics with its own consumer group, decodes every message with the
schema its single-object header names (CRC-64-AVRO fingerprints computed here from the
.avsc files), checks the key and headers against the record, commits what it processed
and, with --stop-after N, stops after N messages (committing exactly those: a later run
resumes at the next one, possibly inside a record batch). Each processed record is
appended to --out as one JSON line: topic, partition, offset, and the record's identity.

    pip install confluent-kafka fastavro
    python3 schemas/examples/subscriber.py --brokers 127.0.0.1:9092 --schemas schemas/avro \\
        --group my-team --out seen.ndjson [--stop-after 5000] [--idle-seconds 5]

Prints one JSON summary line: messages processed, per topic, and why it stopped.
"""
import argparse
import io
import json
import pathlib
import sys

import fastavro
from confluent_kafka import Consumer, KafkaError, TopicPartition

TOPICS = {
    "wowlogs.combat-events.v1": "CombatEvent",
    "wowlogs.uploads.v1": "UploadStatus",
    "wowlogs.dead-letter.v1": "DeadLetter",
    "wowlogs.encounters.v1": "EncounterSummary",
}
MAGIC = b"\xc3\x01"


def load_schemas(folder):
    """fingerprint (16 hex digits, as in the message header) -> parsed schema"""
    schemas = {}
    for path in sorted(pathlib.Path(folder).glob("*.avsc")):
        parsed = fastavro.parse_schema(json.loads(path.read_text()))
        canonical = fastavro.schema.to_parsing_canonical_form(parsed)
        schemas[fastavro.schema.fingerprint(canonical, "CRC-64-AVRO")] = parsed
    return schemas


def identity(topic, record):
    """What makes a record unique (duplicates are allowed: at-least-once)."""
    if topic == "wowlogs.combat-events.v1":
        return [record["guild_id"], record["log_id"], record["line"]]
    if topic == "wowlogs.dead-letter.v1":
        return [record["guild_id"], record["log_id"], record["source"], record["line"]]
    if topic == "wowlogs.encounters.v1":
        return [record["guild_id"], record["log_id"], record["fight"]["start_line"]]
    # An upload's statuses: one per state change, and running counts while parsing.
    return [record["guild_id"], record["log_id"], record["upload_id"], record["state"], record["timestamp_ms"],
            record["lines"]]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--brokers", required=True)
    parser.add_argument("--schemas", required=True, help="folder of the published .avsc files")
    parser.add_argument("--group", required=True)
    parser.add_argument("--out", required=True, help="NDJSON file the processed records are appended to")
    parser.add_argument("--stop-after", type=int, default=0, help="stop after this many messages (0: never)")
    parser.add_argument("--idle-seconds", type=float, default=5.0, help="stop after this long without a message")
    args = parser.parse_args()

    schemas = load_schemas(args.schemas)
    consumer = Consumer({
        "bootstrap.servers": args.brokers,
        "group.id": args.group,
        "enable.auto.commit": False,
        "auto.offset.reset": "earliest",
        "session.timeout.ms": 6000,
    })
    consumer.subscribe(list(TOPICS))
    processed, per_topic, idle, stopped = 0, {}, 0.0, "idle"
    next_offsets = {}
    with open(args.out, "a", encoding="utf-8") as out:
        while True:
            message = consumer.poll(0.5)
            if message is None:
                idle += 0.5
                if idle >= args.idle_seconds and processed > 0 or idle >= max(args.idle_seconds, 30):
                    break
                continue
            if message.error():
                if message.error().code() != KafkaError._PARTITION_EOF:
                    print(f"error: {message.error()}", file=sys.stderr)
                continue
            idle = 0.0
            topic, value = message.topic(), message.value()
            if value[:2] != MAGIC:
                raise SystemExit(f"{topic}@{message.offset()}: not an Avro single-object message")
            fingerprint = value[2:10].hex()
            schema = schemas.get(fingerprint)
            if schema is None:
                raise SystemExit(f"{topic}@{message.offset()}: unknown writer schema {fingerprint}")
            if schema["name"].rsplit(".", 1)[-1] != TOPICS[topic]:
                raise SystemExit(f"{topic}@{message.offset()}: a {schema['name']} on this topic")
            record = fastavro.schemaless_reader(io.BytesIO(value[10:]), schema, schema)
            headers = {k: v.decode() for k, v in (message.headers() or [])}
            expected = {
                "wowlogs-guild-id": str(record["guild_id"]),
                "wowlogs-log-id": str(record["log_id"]),
                "wowlogs-schema-fingerprint": fingerprint,
            }
            if headers != expected:
                raise SystemExit(f"{topic}@{message.offset()}: headers {headers}, expected {expected}")
            if message.key().decode() != str(record["guild_id"]):
                raise SystemExit(f"{topic}@{message.offset()}: key {message.key()!r}, guild {record['guild_id']}")
            out.write(json.dumps({"topic": topic, "partition": message.partition(), "offset": message.offset(),
                                  "id": identity(topic, record)}) + "\n")
            next_offsets[(topic, message.partition())] = message.offset() + 1
            processed += 1
            per_topic[topic] = per_topic.get(topic, 0) + 1
            if args.stop_after and processed >= args.stop_after:
                stopped = "stop-after"
                break
    # Commit exactly what was processed (the records after it, though fetched, were not).
    if next_offsets:
        consumer.commit(offsets=[TopicPartition(t, p, o) for (t, p), o in next_offsets.items()], asynchronous=False)
    consumer.close()
    print(json.dumps({"processed": processed, "topics": per_topic, "stopped": stopped}))


if __name__ == "__main__":
    main()

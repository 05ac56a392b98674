#!/usr/bin/env bash
#
# Declares the mesh's Kafka topics ahead of time: the brokers run with topic auto-creation off,
# so a misspelt topic name fails instead of quietly creating a new topic. Run by the
# kafka-topics Job (deploy/base/kafka-topics.yaml) and by docker-compose.yml's kafka-topics
# service, in the apache/kafka image. Idempotent: existing topics are kept, and checked.
#
# Input (the same variables the mesh's own Kafka clients read, so the Job and the services
# agree): KAFKA_BROKERS, KAFKA_PARTITIONS, KAFKA_REPLICATION_FACTOR; MESH_TOPICS, the
# topics, space-separated (each topic and its .dlq).
set -euo pipefail

: "${KAFKA_BROKERS:?}" "${MESH_TOPICS:?}"
partitions=${KAFKA_PARTITIONS:-3}
replication=${KAFKA_REPLICATION_FACTOR:-1}
bin=${KAFKA_BIN:-/opt/kafka/bin}
wait_seconds=${WAIT_SECONDS:-300}

log() { printf 'kafka-topics: %s\n' "$*" >&2; }

log "waiting for $KAFKA_BROKERS (up to $wait_seconds s)"
deadline=$((SECONDS + wait_seconds))
until "$bin/kafka-broker-api-versions.sh" --bootstrap-server "$KAFKA_BROKERS" >/dev/null 2>&1; do
    if ((SECONDS >= deadline)); then
        log "no broker answered at $KAFKA_BROKERS within $wait_seconds s"
        exit 1
    fi
    sleep 5
done

failed=0
for topic in $MESH_TOPICS; do
    "$bin/kafka-topics.sh" --bootstrap-server "$KAFKA_BROKERS" --create --if-not-exists \
        --topic "$topic" --partitions "$partitions" --replication-factor "$replication" >/dev/null
    # A topic made earlier with other settings (say, by a service before this ran) is reported:
    # partitions can only be added, which would move keys between partitions.
    described=$("$bin/kafka-topics.sh" --bootstrap-server "$KAFKA_BROKERS" --describe --topic "$topic")
    actual=$(sed -n 's/.*PartitionCount: *\([0-9]*\).*/\1/p' <<<"$described" | head -n 1)
    if [[ $actual != "$partitions" ]]; then
        log "$topic has ${actual:-?} partitions, not $partitions"
        failed=1
    else
        log "$topic: $partitions partitions, replication factor $replication"
    fi
done
exit "$failed"

# syntax=docker/dockerfile:1.7
# The `wowlogs` binary (producer, consumers, query API and the operator CLI) in a small
# runtime image that runs as a non-root user. Everything is built from this checkout and
# crates.io: librdkafka is compiled from the copy rdkafka-sys ships, with the system's
# OpenSSL for Kafka over TLS and SASL/SCRAM (WOWLOGS_KAFKA_SECURITY_PROTOCOL).

FROM rust:1.95.0-slim-bookworm AS build
RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential perl python3 pkg-config libssl-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --package wowlogs-cli --bin wowlogs \
    && install -m 0755 target/release/wowlogs /usr/local/bin/wowlogs

FROM debian:12.11-slim AS runtime
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates libssl3 \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 wowlogs \
    && useradd --system --uid 10001 --gid wowlogs --home-dir /var/lib/wowlogs --create-home wowlogs
COPY --from=build /usr/local/bin/wowlogs /usr/local/bin/wowlogs
USER 10001:10001
WORKDIR /var/lib/wowlogs
ENV WOWLOGS_LOG=info \
    WOWLOGS_LOG_FORMAT=json \
    WOWLOGS_SPOOL_DIR=/tmp
ENTRYPOINT ["/usr/local/bin/wowlogs"]
CMD ["--help"]

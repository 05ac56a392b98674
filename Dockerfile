# syntax=docker/dockerfile:1
#
# One image shape for every binary of the mesh:
#   docker build --build-arg BIN=order-service -t ghcr.io/mesh-org/mesh-order-service:0.1.0 .
# BIN is one of: menu-service, order-service, delivery-service, inventory-service,
# billing-service, gateway. Base images are pinned by full version tag (validate-deploy
# refuses a bare or :latest one); bump them on purpose.

# GraphiQL's browser assets for the gateway. Other binaries get an empty directory, so one
# runtime stage serves all of them without shipping node_modules they never read.
FROM node:20.20.2-bookworm-slim AS web
ARG BIN
WORKDIR /web
COPY gateway/web/package.json gateway/web/package-lock.json ./
RUN if [ "$BIN" = "gateway" ]; then npm ci --omit=dev --no-audit --no-fund; else mkdir node_modules; fi

# The web page (/app/), built from its npm packages; other binaries get an empty directory.
# Its build generates the page's GraphQL types from the gateway's committed SDL, which
# gateway/app/codegen.yml reads at ../contract/schema.graphql: /contract/ beside /app/.
FROM node:20.20.2-bookworm-slim AS app
ARG BIN
WORKDIR /app
COPY gateway/contract/schema.graphql /contract/schema.graphql
COPY gateway/app/ ./
RUN if [ "$BIN" = "gateway" ]; then rm -rf node_modules dist && npm ci --no-audit --no-fund && npm run build; else mkdir dist; fi

FROM rust:1.95.0-bookworm AS build
# rdkafka builds its bundled librdkafka with the image's gcc, make and perl (./configure, no
# compression codecs, no TLS); protoc (Debian's protobuf-compiler) compiles proto/ and the
# protovalidate rules; the proto crate's build fetches google/api/*.proto from PyPI with pip
# (googleapis-common-protos, pinned by hash in proto/build.rs).
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3-pip protobuf-compiler libprotobuf-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
ARG BIN
# Cache mounts keep the crate registry and target/ between builds, so the six images share
# one compiled dependency tree and a rebuild only recompiles what changed. "locked" because
# compose builds the images in parallel against the same cache. The binary is copied out of
# the mount, which does not persist into the image layer.
RUN --mount=type=cache,target=/usr/local/cargo/registry,sharing=locked \
    --mount=type=cache,target=/src/target,sharing=locked \
    : "${BIN:?pass --build-arg BIN=<binary name>}" \
    && cargo build --release --locked --bin "$BIN" \
    && install -D "target/release/$BIN" /out/app

FROM debian:12.11-slim
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --no-log-init --uid 10001 --user-group --no-create-home \
        --shell /usr/sbin/nologin mesh
COPY --from=web /web/node_modules /usr/share/mesh/web/node_modules
ENV GATEWAY_ASSETS_DIR=/usr/share/mesh/web/node_modules
COPY --from=app /app/dist /usr/share/mesh/app
ENV GATEWAY_APP_DIR=/usr/share/mesh/app
COPY --from=build /out/app /usr/local/bin/app
# Numeric, so Kubernetes' runAsNonRoot can verify it without reading /etc/passwd.
USER 10001:10001
ENTRYPOINT ["/usr/local/bin/app"]

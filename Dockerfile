# sens-gateway container image.
#   docker build -t sens-gateway .
#   docker run -p 8080:8080 sens-gateway --simulator        (no NCP account needed)

# Build stage: Swift 6.3 on Ubuntu 24.04; a release build with the Swift runtime linked statically.
FROM swift:6.3-noble AS build
# Versions come with the pinned base image's Ubuntu release; pinning each package would break on every
# security update of the archive.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends libssl-dev pkg-config \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /build
# Dependencies resolve in their own layer, cached until the manifest changes.
COPY Package.swift ./
RUN swift package resolve
# Sources/GatewayAPI/openapi.yaml is a symlink to the root openapi.yaml, so the whole context is copied.
COPY . .
# Stripped, the binary is about 37 MB (106 MB with its symbols).
RUN swift build -c release --static-swift-stdlib --product sens-gateway \
    && install -D "$(swift build -c release --show-bin-path)/sens-gateway" /staging/sens-gateway \
    && strip /staging/sens-gateway

# Runtime stage: only what the binary needs (glibc, libstdc++, zlib, libcrypto) and CA certificates for SENS.
FROM ubuntu:noble
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates libssl3t64 libstdc++6 zlib1g tzdata \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin sens-gateway \
    && install -d -o 10001 -g 10001 -m 0750 /var/lib/sens-gateway
# The filter reads and writes Korean Excel files (CP949) through glibc's iconv: libc6's gconv modules (UHC.so,
# EUC-KR.so) must be in the image. The gateway checks at start-up too; this stops the build instead.
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
RUN printf '\xc0\xcc\xb8\xa7' | iconv -f CP949 -t UTF-8 | grep -qx '이름'
COPY --from=build /staging/sens-gateway /usr/local/bin/sens-gateway
USER 10001:10001
# The embedded mirror's SQLite file (./sens-mirror.sqlite, with its -wal and -shm files) lands in the working
# directory, which the gateway's user owns; mount a volume there (docker run -v sens-mirror:/var/lib/sens-gateway)
# to keep the mirror when the container is replaced. With MIRROR_DATABASE_URL(_FILE) the replicas share PostgreSQL
# instead, and nothing is written here.
WORKDIR /var/lib/sens-gateway
ENV HTTP_HOST=0.0.0.0 \
    HTTP_PORT=8080 \
    LOG_FORMAT=json
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/sens-gateway"]

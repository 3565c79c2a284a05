# syntax=docker/dockerfile:1
# The WatchMe server image: a release build on Debian, then the binary
# alone on distroless (glibc, CA certificates, no shell), as a non-root
# user. `docker build -t watchme .`; docs/deploy.md.

ARG RUST_VERSION=1.95

FROM rust:${RUST_VERSION}-bookworm AS build
# cmake and friends build librdkafka (the kafka feature) from source.
RUN apt-get update && apt-get install -y --no-install-recommends cmake && rm -rf /var/lib/apt/lists/*
WORKDIR /src

# Dependencies first, in a layer of their own: it is rebuilt only when a
# manifest or the lock file changes, not when the source does.
COPY Cargo.toml Cargo.lock ./
COPY watchme-core/Cargo.toml watchme-core/
COPY watchme-adapters/Cargo.toml watchme-adapters/
COPY watchme-server/Cargo.toml watchme-server/
RUN mkdir -p src watchme-core/src watchme-adapters/src watchme-server/src \
 && echo 'fn main() {}' > src/main.rs \
 && for c in watchme-core watchme-adapters watchme-server; do echo '' > $c/src/lib.rs; done \
 && cargo build --release --locked --bin watchme \
 && rm -rf src watchme-core/src watchme-adapters/src watchme-server/src

COPY . .
# The placeholders' build outputs are older than the real sources, so
# cargo rebuilds the workspace crates and nothing else.
RUN touch src/main.rs watchme-*/src/lib.rs \
 && cargo build --release --locked --bin watchme \
 && strip target/release/watchme \
 && mkdir -p /data

# distroless cc carries glibc, libgcc and libssl3, which librdkafka (built
# with OpenSSL for TLS and SASL SCRAM) links against.
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /src/target/release/watchme /usr/local/bin/watchme
# The embedded default's files (SQLite, the generated JWT secret) go to a
# volume owned by the non-root user; PostgreSQL deployments ignore it.
COPY --from=build --chown=65532:65532 /data /data
ENV WATCHME_BIND=0.0.0.0:8080 \
    WATCHME_DATA_DIR=/data \
    WATCHME_LOG_FORMAT=json
USER 65532:65532
VOLUME /data
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=4s --start-period=20s --retries=3 CMD ["/usr/local/bin/watchme", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/watchme"]
CMD ["serve"]

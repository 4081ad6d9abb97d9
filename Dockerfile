# Weir in a container: built from source in one stage, run from a small Debian image in
# the next, as an unprivileged user, with its data on a volume.
#
#   docker build -t weir .
#   docker run -p 8080:8080 -v weir-data:/var/lib/weir -e WEIR_ADMIN_TOKEN=… weir
#
# For several nodes on PostgreSQL, see compose.yaml.

FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p weir \
    && install -m 0755 target/release/weir /usr/local/bin/weir

FROM debian:bookworm-slim
# CA roots for outbound HTTPS and PostgreSQL over TLS; curl for the health check.
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /var/lib/weir --create-home weir
COPY --from=build /usr/local/bin/weir /usr/local/bin/weir
USER weir
ENV WEIR_LISTEN=0.0.0.0:8080 \
    WEIR_DATA_DIR=/var/lib/weir \
    WEIR_LOG_FORMAT=json
VOLUME ["/var/lib/weir"]
EXPOSE 8080
# Ready: the database takes writes and every worker runs.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD curl -fsS http://127.0.0.1:8080/readyz || exit 1
# SIGTERM drains: requests and handlers in flight get 30 s to finish.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/weir"]
CMD ["serve"]

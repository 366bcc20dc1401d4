# cargomon images, built from this repository on Debian 12.
#
#   docker build -t cargomon .                      the daemon (default, last stage)
#   docker build -t cargomon-sim --target sim .     the simulator with its ClickHouse, for demos
#
# The build stage installs exactly what scripts/bootstrap installs, so the image is built
# with the same toolchain and libraries as every developer machine and CI.

FROM debian:12 AS build
WORKDIR /src
COPY scripts/bootstrap scripts/bootstrap
RUN scripts/bootstrap && rm -rf /var/lib/apt/lists/*
COPY . .
RUN cmake -S . -B /build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCARGOMON_BUILD_TESTS=OFF \
        -DCMAKE_INSTALL_PREFIX=/usr \
    && cmake --build /build \
    && DESTDIR=/out cmake --install /build --strip

# What both runtime images share: the shared libraries the binaries link (their own
# dependencies come with them), CA certificates for HTTPS to the Cargo API, curl for the
# health check, and an unprivileged user.
FROM debian:12-slim AS base
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        ca-certificates curl \
        libcpp-httplib0.11 libprometheus-cpp-core1.0 libyaml-cpp0.7 libspdlog1.10 \
        libsqlite3-0 libsystemd0 \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 cargomon \
    && useradd --system --uid 10001 --gid cargomon --home-dir /var/lib/cargomon --shell /usr/sbin/nologin cargomon \
    && install -d -o cargomon -g cargomon -m 0750 /var/lib/cargomon

# cargomon-sim for demos. It starts its own clickhouse-server (--clickhouse-data), the
# Debian 12 package every test runs against (18.16, amd64 only); a separate ClickHouse
# container of another version is not what the simulator is tested with.
FROM base AS sim
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends clickhouse-server \
    && rm -rf /var/lib/apt/lists/* \
    && install -d -o cargomon -g cargomon -m 0750 /var/lib/cargomon-sim
COPY --from=build /out/usr/bin/cargomon-sim /usr/bin/cargomon-sim
COPY scenarios/ /usr/share/cargomon/scenarios/
USER cargomon
VOLUME ["/var/lib/cargomon-sim"]
EXPOSE 8080
# The token comes from CARGOMON_SIM_TOKEN; the generated workspace lives in the volume.
ENTRYPOINT ["/usr/bin/cargomon-sim", "--listen", "0.0.0.0:8080", "--clickhouse-data", "/var/lib/cargomon-sim/clickhouse"]
# The demo workspace scenarios/demo.yml is written for (12 workflows, seed 42).
CMD ["--workflows", "12", "--history", "2d", "--seed", "42", "--live", "--rate", "10", "--control", \
     "--scenario", "/usr/share/cargomon/scenarios/demo.yml"]

FROM base AS cargomon
COPY --from=build /out/usr/bin/cargomon /usr/bin/cargomon
# The shipped example and rules as the default configuration; mount your own over
# /etc/cargomon (the token comes from CARGO_API_TOKEN or the secret /run/secrets/cargo_token).
COPY --from=build /out/usr/share/doc/cargomon/examples/cargomon.yml /etc/cargomon/cargomon.yml
COPY --from=build /out/usr/share/doc/cargomon/examples/rules/ /etc/cargomon/rules/
USER cargomon
VOLUME ["/var/lib/cargomon"]
EXPOSE 9464
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["curl", "-fsS", "-o", "/dev/null", "http://127.0.0.1:9464/healthz"]
ENTRYPOINT ["/usr/bin/cargomon"]
CMD ["--config.file=/etc/cargomon/cargomon.yml", "--storage.path=/var/lib/cargomon", "--web.listen-address=:9464"]

# netaudit: one image for the controller (`netaudit controller`), the one-shot audit
# (`netaudit audit`) and the probe agent in probe pods (`netaudit agent serve|probe`).
# Node 24 runs the TypeScript sources directly (type stripping): no build step, no dist/.
# Tested without Docker by test/e2e/ship/dockerfile.test.ts, which interprets these steps.

FROM node:24.21.0-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: no runtime dependency needs an install script, and none should run at build.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error
COPY src ./src
COPY bin ./bin
# Fails the build, not the first pod, if the tree cannot start (a missing file or dependency).
RUN ./bin/netaudit --version

FROM node:24.21.0-bookworm-slim
LABEL org.opencontainers.image.title="netaudit" \
      org.opencontainers.image.description="Proves that a cluster's NetworkPolicies are really enforced, with real packets." \
      org.opencontainers.image.version="0.1.0" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.source="https://github.com/netaudit/netaudit" \
      org.opencontainers.image.base.name="docker.io/library/node:24.21.0-bookworm-slim"
# NODE_ENV: libraries pick their production paths. PATH: the manifests and probe pods run
# `command: [netaudit]`, so the CLI must be found by name, not only as the entrypoint.
ENV NODE_ENV=production \
    PATH="/app/bin:${PATH}"
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/src ./src
COPY --from=build /app/bin ./bin
COPY package.json ./
# Every probe pod is a new Node process, and most of its start-up is compiling modules: a compile
# cache made here halves that CPU, which a round spends once per probe pod. Node keys the cache by
# uid and by file path, so it is made in this stage, by the image's user. At runtime it is only
# read: nothing is written (readOnlyRootFilesystem works).
ENV NODE_COMPILE_CACHE=/app/.compile-cache
RUN mkdir .compile-cache && chown 65532:65532 .compile-cache
# Numeric, so the kubelet can check runAsNonRoot without an /etc/passwd entry; matches the
# Deployment's runAsUser/runAsGroup.
USER 65532:65532
RUN ./bin/netaudit agent --help >/dev/null && ./bin/netaudit --version >/dev/null
ENTRYPOINT ["/app/bin/netaudit"]
CMD ["--help"]

# syntax=docker/dockerfile:1.7
#
# One image for every Stratus role. The role is chosen at run time by the ROLE environment variable
# (all | api | accounts | files | uploads | transfer | operator; default all, the embedded
# all-in-one server). The Helm chart (charts/stratus) runs one Deployment per role from this image.
#
#   docker build -t stratus .
#   docker run -p 8080:8080 stratus                       # all-in-one on SQLite + local disk
#   docker run -e ROLE=accounts -e SERVICE_DISCOVERY=k8s ... stratus
#
# Stages: deps (npm ci with the toolchain that builds better-sqlite3 and native/splice) -> build (web UI, then the
# dev dependencies pruned; tsx stays: it is a runtime dependency, the TypeScript runs as is) ->
# runtime (node:22-bookworm-slim, same Debian release as the build stages so the native addon's
# glibc matches; non-root; only what runs).
#
# Node 22 LTS: Node 20 reached its end of life in April 2026. Both bases are build arguments, so
# a machine without registry access can pass stand-ins (scripts/lib/podman.sh builds them from
# Debian's mirror: test/deploy/pods.test.ts), e.g.
#   podman build --build-arg NODE_BUILD_IMAGE=localhost/node:22-bookworm \
#     --build-arg NODE_RUNTIME_IMAGE=localhost/node:22-bookworm-slim -t stratus .

ARG NODE_BUILD_IMAGE=node:22-bookworm
ARG NODE_RUNTIME_IMAGE=node:22-bookworm-slim

# ---- deps: every dependency, native addons compiled here (python3, make and g++ are in this image)
FROM ${NODE_BUILD_IMAGE} AS deps
WORKDIR /app
ENV npm_config_update_notifier=false \
    npm_config_fund=false \
    npm_config_audit=false
COPY package.json package-lock.json ./
# npm's postinstall builds the splice addon (big proxied downloads moved inside the kernel).
COPY scripts/build-native.mjs ./scripts/build-native.mjs
COPY native ./native
RUN --mount=type=cache,target=/root/.npm \
    npm ci --no-audit --no-fund \
 && node -e "const Database = require('better-sqlite3'); new Database(':memory:').close()" \
 && node -e "require('./native/splice/build/Release/splice.node')"

# ---- build: the web UI (vite, a dev dependency), then drop the dev dependencies. sharp (thumbnails)
# needs no toolchain: npm ci installed its prebuilt libvips for this platform (@img/sharp-linux-x64),
# and loading it here fails the build if that binary is missing.
FROM deps AS build
COPY . .
RUN npm run build:web \
 && test -f web/dist/index.html \
 && npm prune --omit=dev \
 && node -e "require.resolve('tsx'); require('better-sqlite3'); require('sharp')"

# ---- runtime
FROM ${NODE_RUNTIME_IMAGE} AS runtime
# The commit this image was built from, shown as stratus_build_info{commit} on /metrics:
#   docker build --build-arg STRATUS_COMMIT=$(git rev-parse --short HEAD) -t stratus .
ARG STRATUS_COMMIT=unknown
ENV STRATUS_COMMIT=${STRATUS_COMMIT} \
    NODE_ENV=production \
    ROLE=all \
    PORT=8080 \
    DATA_DIR=/data \
    npm_config_update_notifier=false
RUN groupadd --system --gid 10001 stratus \
 && useradd --system --uid 10001 --gid 10001 --home-dir /nonexistent --no-create-home --shell /usr/sbin/nologin stratus \
 && mkdir -p /data \
 && chown 10001:10001 /data
WORKDIR /app
# Owned by root and read-only to the app user: the process cannot change its own code.
COPY --from=build /app/package.json /app/tsconfig.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/schema.graphql ./schema.graphql
COPY --from=build /app/api ./api
COPY --from=build /app/internal ./internal
COPY --from=build /app/cli ./cli
COPY --from=build /app/operator ./operator
COPY --from=build /app/web/dist ./web/dist
COPY --from=build /app/native/splice/build/Release/splice.node ./native/splice/build/Release/splice.node
USER 10001:10001
VOLUME ["/data"]
EXPOSE 8080
# Docker/Compose only; Kubernetes ignores HEALTHCHECK and uses the chart's probes (/healthz, /readyz).
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 8080) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# SIGTERM (the default stop signal) reaches node directly: it stops accepting, finishes in-flight
# chunks and closes connections.
ENTRYPOINT ["node", "--import", "tsx", "api/main.ts"]

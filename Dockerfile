# syntax=docker/dockerfile:1
#
# sqs-idempotent-worker: the worker daemon and its sidecar (health, metrics, seed) on HTTP_PORT.
#
#   docker build -t sqs-idempotent-worker .
#   docker run --init --read-only --tmpfs /tmp -p 127.0.0.1:8080:8080 \
#     -e SQS_QUEUE_URL=... -e AWS_REGION=... -e HANDLER=... sqs-idempotent-worker
#
# HANDLER is required with SQS_QUEUE_URL: a built-in (log, webhook) or the path of your module,
# which an image FROM this one brings (examples/handler-package/Dockerfile).
#
# Signals: CMD is the exec form, so node is PID 1 and SIGTERM/SIGINT reach the worker itself,
# which installs its handlers first thing and drains (docs/reliability.md, "Worker runtime"). Node as PID 1
# does not reap orphaned children, so run it with an init: `docker run --init`, compose
# `init: true` (docker-compose.yml does), or tini; on Kubernetes the kubelet signals node directly
# and the worker starts no child processes of its own.
#
# Read-only root filesystem: nothing is written outside /tmp (mount a tmpfs or emptyDir there).
#
# The base image: Node 24.21.0, the same version as the `node` dev dependency in package.json
# (a test keeps them equal), on Debian bookworm, pinned by the digest of its multi-platform index.
# Renovate or Dependabot move tag and digest together.
ARG NODE_IMAGE=node:24.21.0-bookworm-slim@sha256:0e0ff40c39bc087845bfb27465a0df4ea419520094bc35842ff83dd8cbe6f9b6

# Production dependencies only. --omit=dev also drops the `node` dev dependency (the image brings
# its own Node); no production dependency has an install script, so none is run.
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

# The TypeScript build, with every dependency.
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY scripts/copy-assets.mjs ./scripts/
COPY src ./src
RUN npm run build

# Runtime: dist/, production node_modules, package.json and config/ (CONFIG_PROFILE files), owned
# by root and read-only to the worker.
FROM ${NODE_IMAGE} AS runtime
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG CREATED=unknown
# The repository URL, from CI: --build-arg SOURCE=... (with REVISION and CREATED).
ARG SOURCE=unknown
LABEL org.opencontainers.image.title="sqs-idempotent-worker" \
      org.opencontainers.image.description="Polls Amazon SQS and handles every message effectively once, with a DynamoDB claim" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.licenses="MIT" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.base.name="docker.io/library/node:24.21.0-bookworm-slim"
ENV NODE_ENV=production
# V8's young generation at most 16 MiB per semi-space (by default it grew to ~128 MB under load):
# 60-90 MB less peak RSS at no measurable CPU cost (docs/performance.md, "Memory"). Set in
# NODE_OPTIONS, not on CMD's command line, where it would win over the user's: `docker run -e
# NODE_OPTIONS=...` replaces it (k8s/base/deployment.yaml repeats it next to its heap bound).
ENV NODE_OPTIONS=--max-semi-space-size=16
# The sidecar listens on every interface of the container (the worker's own default is loopback):
# health probes and scrapes come from outside it. Publish the port with care (docs/security.md).
ENV HTTP_HOST=0.0.0.0
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY config ./config
# Your handler goes into an image FROM this one (examples/handler-package/Dockerfile), with HANDLER
# set to its path; this image sets none, so on a real queue it exits 2 until one is named. The link
# makes `import ... from 'sqs-idempotent-worker'` in such a handler resolve to this very copy, whose
# PermanentError is the class the worker checks with instanceof.
RUN ln -s /app /app/node_modules/sqs-idempotent-worker
# The image's `node` user (uid 1000), numeric so that Kubernetes' runAsNonRoot can verify it.
USER 1000:1000
EXPOSE 8080
# Liveness of the sidecar with Node's own fetch (the slim image has no curl).
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.HTTP_PORT || 8080) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "dist/main.js", "start"]

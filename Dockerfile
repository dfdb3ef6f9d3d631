# syntax=docker/dockerfile:1
# cosell-sync: compiled code and production dependencies only, run as an unprivileged user.
#   docker build -t cosell-sync .
#   docker run -d --name cosell -p 4100:4100 -v cosell-data:/data \
#     -v "$PWD/cosell.yaml:/etc/cosell/cosell.yaml:ro" -e PC_CLIENT_SECRET=... cosell-sync
# Node 22 (LTS) by default; --build-arg NODE_VERSION=24 also works (the store then uses Node's built-in SQLite).
ARG NODE_VERSION=22

# Build stage: the full dependency set, TypeScript compiled to dist/.
FROM node:${NODE_VERSION}-bookworm-slim AS build
WORKDIR /app
# better-sqlite3 compiles from source where no prebuilt binary matches the platform.
RUN apt-get update \
  && apt-get install -y --no-install-recommends python3 make g++ \
  && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
# npm ci's postinstall applies them (patch-package): see patches/README.md.
COPY patches ./patches
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build \
  && npm prune --omit=dev --omit=optional --no-audit --no-fund

# Runtime stage: no compiler, no dev dependencies, no TypeScript sources.
FROM node:${NODE_VERSION}-bookworm-slim AS runtime
# NODE_OPTIONS: V8 heap sizes, as deploy/systemd/cosell.service sets them (see the reason there); -e NODE_OPTIONS=...
# overrides them.
ENV NODE_ENV=production \
    NODE_OPTIONS="--max-old-space-size=512 --max-semi-space-size=8" \
    COSELL__store__path=/data/cosell.db \
    COSELL__server__host=0.0.0.0
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json LICENSE ./
COPY bin ./bin
COPY mappings ./mappings
# The node image's unprivileged "node" user (uid 1000) owns the data volume and nothing else.
RUN mkdir -p /data /etc/cosell && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE 4100
# Probes the port in COSELL__server__port (default 4100): set the port that way rather than in the file.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.COSELL__server__port || 4100) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "/app/dist/cli/main.js"]
CMD ["start", "--config", "/etc/cosell/cosell.yaml"]

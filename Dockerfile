# syntax=docker/dockerfile:1
# The Weft node image: one `weft serve` process, PID 1 under tini, as a non-root user.
# Build: docker build -t weft:0.1.0 .   (docs/deploy.md; not built in this repository's CI:
# no base image can be pulled there).

# --- build: compile TypeScript and the example components, then drop dev dependencies ---
FROM node:20-bookworm-slim AS build
WORKDIR /src
# .npmrc keeps installs inside the npm registry (no CUDA download for onnxruntime-node, no
# llama.cpp postinstall); it must be there before npm ci.
COPY package.json package-lock.json .npmrc ./
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY scripts ./scripts
COPY examples ./examples
COPY sdk ./sdk
COPY wit ./wit
COPY proto ./proto
# npm ci runs the prepare script: tsc to dist/ and the example components to examples/*/build/.
RUN npm ci && npm prune --omit=dev

# --- runtime: the built node and its production dependencies only ---
FROM node:20-bookworm-slim
# tini forwards SIGTERM to node and reaps children; node itself is never PID 1.
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 weft \
 && useradd --system --uid 10001 --gid weft --home-dir /var/lib/weft --shell /usr/sbin/nologin weft \
 && mkdir -p /var/lib/weft \
 && chown weft:weft /var/lib/weft
WORKDIR /opt/weft
COPY --from=build /src/package.json ./package.json
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY --from=build /src/examples ./examples
COPY --from=build /src/wit ./wit
# The gRPC service reads its proto at start.
COPY --from=build /src/proto ./proto
ENV NODE_ENV=production \
    WEFT_HOST=0.0.0.0 \
    WEFT_PORT=8080 \
    WEFT_GRPC_PORT=8081 \
    WEFT_DATA_DIR=/var/lib/weft
USER 10001:10001
VOLUME ["/var/lib/weft"]
EXPOSE 8080 8081
HEALTHCHECK --interval=30s --timeout=3s --start-period=60s \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.WEFT_PORT||8080)+'/v2/health/live').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# Exec form all the way: tini → node, no shell or npm in between, so SIGTERM starts the drain.
ENTRYPOINT ["/usr/bin/tini", "--", "node", "/opt/weft/dist/cli/main.js"]
# With no models or apps named, `weft serve` serves the embedded PaddleOCR models and OCR app.
CMD ["serve"]

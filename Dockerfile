# syntax=docker/dockerfile:1
# The meshward image: the sidecar (`meshward run`) and the injector (`meshward injector`).
# Not built in this repository's CI (no Docker engine there); integration/kubernetes.test.ts
# checks what can be checked without one (base image, copied paths, entry command).
#
#   docker build -t ghcr.io/meshward/meshward:0.1.0 .
#
# Runs as a non-root numeric user and writes nothing at run time, so it works with
# readOnlyRootFilesystem: true (the injected sidecar and the chart set it).

ARG NODE_IMAGE=node:24-slim

# 1. Compile TypeScript (dev dependencies needed only here).
FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
# Only the sidecar: tsconfig.json's other roots (demo/, integration/support/) are not in the image.
COPY sidecar ./sidecar
RUN npx tsc -p tsconfig.json
# The SBOM (CycloneDX, production dependencies) that `meshward report` lists: dist/sbom.cdx.json.
COPY scripts/write-sbom.mjs ./scripts/
RUN node scripts/write-sbom.mjs

# 2. Production dependencies only.
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund --ignore-scripts && npm cache clean --force

# 3. The runtime image: node, production node_modules, the compiled sidecar.
FROM ${NODE_IMAGE}
ENV NODE_ENV=production
# V8's young generation: Node 24 lets each semi-space grow to 64 MB (Node 20: 16 MB), which put
# a sidecar at 226-280 MB RSS under load, close to or above the injected 256Mi limit. 16 MB
# (Node 20's size) measured 132-210 MB, CPU per call within the benchmark's noise
# (BENCHMARKS.md, issue 14, "Memory"; docs/kubernetes.md "Memory"). A pod's own NODE_OPTIONS
# replaces this.
ENV NODE_OPTIONS=--max-semi-space-size=16
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /src/dist/sidecar ./dist/sidecar
COPY --from=build /src/dist/sbom.cdx.json ./dist/sbom.cdx.json
# package.json: "type": "module" for dist/*.js, and the version reported as service.version.
COPY package.json ./
# 65532: the uid the injected sidecar and the chart run as (runAsUser); no shell login, no home writes.
USER 65532:65532
EXPOSE 7443 7000 8443
ENTRYPOINT ["node", "/app/dist/sidecar/cli/meshward.js"]
CMD ["--help"]

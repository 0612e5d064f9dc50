# One image for every featx service; compose picks the service with `command`.
# Two stages: the build stage compiles every app to JavaScript with all dependencies installed;
# the image itself holds production dependencies and dist/ only (no TypeScript, no swc).

FROM node:20.20-bookworm-slim AS build
WORKDIR /app
# The onednn head engine's addon (tools/build-native.js): oneDNN's headers, and node-gyp's compiler,
# make and python.
RUN apt-get update && apt-get install -y --no-install-recommends libdnnl-dev g++ make python3 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
COPY tools/build-native.js ./tools/
# Compiling needs no ONNX Runtime execution providers; the addon is built below, with its sources.
RUN ONNXRUNTIME_NODE_INSTALL=skip FEATX_BUILD_NATIVE=skip npm ci --no-audit --no-fund
COPY nx.json tsconfig.json ./
COPY tools ./tools
COPY libs ./libs
COPY apps ./apps
COPY migrations ./migrations
# --strict: the image must carry the engine; tools/build.ts copies featx_dense.node into dist.
RUN npm run build:native && npm run build

FROM node:20.20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
# featx_dense.node (in dist, built above) links oneDNN and GCC's OpenMP runtime.
RUN apt-get update && apt-get install -y --no-install-recommends libdnnl2 libgomp1 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
# npm ci runs the root postinstall (tools/build-native.js): told to skip, the addon comes from dist.
COPY tools/build-native.js ./tools/
# onnxruntime-node's CPU engine ships in the package; its install script would download the CUDA
# providers (npm 10 ignores package.json's allowScripts). A GPU image builds with
# --build-arg ONNXRUNTIME_NODE_INSTALL=cuda12 (README, "Engines").
ARG ONNXRUNTIME_NODE_INSTALL=skip
RUN ONNXRUNTIME_NODE_INSTALL=$ONNXRUNTIME_NODE_INSTALL FEATX_BUILD_NATIVE=skip npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
# dist/apps/<app> holds each app's compiled modules and, where it migrates, the migrations.
COPY --from=build /app/dist ./dist
COPY bin ./bin
USER node
# Overridden per service in docker-compose.yml.
CMD ["node", "dist/apps/api/main.js"]

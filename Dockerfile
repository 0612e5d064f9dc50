# One image for every featx service; compose picks the service with `command`.
# Two stages: the build stage compiles every app to JavaScript with all dependencies installed;
# the image itself holds production dependencies and dist/ only (no TypeScript, no swc).

FROM node:20.20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# Compiling needs no ONNX Runtime execution providers.
RUN ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund
COPY nx.json tsconfig.json ./
COPY tools ./tools
COPY libs ./libs
COPY apps ./apps
COPY migrations ./migrations
RUN npm run build

FROM node:20.20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
# onnxruntime-node's CPU engine ships in the package; its install script would download the CUDA
# providers (npm 10 ignores package.json's allowScripts). A GPU image builds with
# --build-arg ONNXRUNTIME_NODE_INSTALL=cuda12 (README, "Engines").
ARG ONNXRUNTIME_NODE_INSTALL=skip
RUN ONNXRUNTIME_NODE_INSTALL=$ONNXRUNTIME_NODE_INSTALL npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
# dist/apps/<app> holds each app's compiled modules and, where it migrates, the migrations.
COPY --from=build /app/dist ./dist
COPY bin ./bin
USER node
# Overridden per service in docker-compose.yml.
CMD ["node", "dist/apps/api/main.js"]

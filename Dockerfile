# The Kappa worker image: compiled and its workflow code pre-bundled in a build stage; the runtime stage has
# production dependencies only.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY scripts ./scripts
RUN npm run build && npx tsx scripts/bundle-workflows.ts dist/workflow-bundle.js

FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY bin ./bin
COPY config ./config
USER node
# SIGTERM lets running activities finish or clean up (shutdownGraceTime in the worker config).
STOPSIGNAL SIGTERM
# The node flags of bin/kappa's first line (why: see there).
ENTRYPOINT ["node", "--max-semi-space-size=64", "bin/kappa"]
CMD ["worker"]

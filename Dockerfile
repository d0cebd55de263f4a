# flexedit-server as a container image: one static file that carries the page, on an empty
# base, run as an unprivileged user.
#   docker build -t flexedit .
#   docker run -e ONEMIN_API_KEY=... -p 8080:8080 flexedit
# Every option of flexedit-server can be given as an argument or a FLEXEDIT_* variable.

# Node for the build's JavaScript tools (wasm-opt and esbuild come from npm).
FROM node:20-bookworm-slim AS node

FROM rust:1.95-bookworm AS build
COPY --from=node /usr/local/bin/node /usr/local/bin/node
COPY --from=node /usr/local/lib/node_modules /usr/local/lib/node_modules
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm
WORKDIR /src
# The tools in a layer of their own, before the code: they change far less often.
COPY Cargo.lock ./
COPY scripts/setup scripts/
RUN scripts/setup --no-browser
COPY . .
RUN . scripts/env.sh \
 && trunk build --release \
 && cp "$(./scripts/build-static)" /flexedit-server

FROM scratch
COPY --from=build /flexedit-server /flexedit-server
USER 65532:65532
ENV FLEXEDIT_HOST=0.0.0.0 \
    FLEXEDIT_PORT=8080
EXPOSE 8080
# No curl on an empty base: the binary checks GET /healthz itself.
HEALTHCHECK --interval=15s --timeout=5s --start-period=5s --retries=3 \
  CMD ["/flexedit-server", "--healthcheck"]
ENTRYPOINT ["/flexedit-server"]

# Builds the server with cgo (SQLite) and runs it as an unprivileged user.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=1 go build -trimpath -ldflags="-s -w" -o /out/server ./cmd/server

FROM debian:bookworm-slim
RUN useradd --system --home /var/lib/mla mla && mkdir -p /var/lib/mla/data && chown -R mla /var/lib/mla
COPY --from=build /out/server /usr/local/bin/server
USER mla
WORKDIR /var/lib/mla
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/server"]

# bdc-exporter (and, as they land, the other Go binaries of the suite) in one image.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath \
      -ldflags "-X github.com/prometheus/common/version.Version=${VERSION}" \
      -o /out/bdc-exporter ./exporter

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates tzdata \
    && rm -rf /var/lib/apt/lists/* && useradd --system --uid 10091 bdc
COPY --from=build /out/ /usr/local/bin/
USER bdc
EXPOSE 10091
ENTRYPOINT ["bdc-exporter"]
CMD ["serve"]

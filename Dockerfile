# bdc-exporter and bdc-reporter in one image (the entrypoint is the exporter; compose picks).
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath \
      -ldflags "-X github.com/prometheus/common/version.Version=${VERSION}" \
      -o /out/bdc-exporter ./exporter \
 && CGO_ENABLED=0 go build -trimpath \
      -ldflags "-X github.com/prometheus/common/version.Version=${VERSION}" \
      -o /out/bdc-reporter ./reporter

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates tzdata \
    && rm -rf /var/lib/apt/lists/* && useradd --system --uid 10091 bdc
COPY --from=build /out/ /usr/local/bin/
USER bdc
EXPOSE 10091 10092
ENTRYPOINT ["bdc-exporter"]
CMD ["serve"]

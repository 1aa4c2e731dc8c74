# ringproof in a container: a static binary on a distroless base.
#   docker build -t ringproof .
#   docker run --network host -v ringproof-data:/data ringproof serve --config /etc/ringproof.yaml
# SIP and RTP need the host's addresses as peers see them: run with
# --network host, or publish the SIP port (UDP and TCP) and the RTP range.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o /out/ringproof ./cmd/ringproof

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/ringproof /usr/local/bin/ringproof
WORKDIR /data
EXPOSE 8080/tcp 5060/udp 5060/tcp
ENTRYPOINT ["/usr/local/bin/ringproof"]
CMD ["serve"]

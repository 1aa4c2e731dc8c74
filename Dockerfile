# ringproof in a container: a static binary on a distroless base, run as
# uid 65532 with its state in the volume /data.
#
#   docker build --build-arg COMMIT=$(git rev-parse HEAD) -t ringproof .
#   docker run -d --name ringproof \
#     -p 8080:8080 -p 5060:5060/udp -p 5060:5060/tcp -p 16384-32767:16384-32767/udp \
#     -v ringproof-data:/data \
#     -e RINGPROOF_SIP_EXTERNAL_ADDRESS=203.0.113.10 \
#     -e RINGPROOF_HTTP_API_KEYS=a-long-random-key \
#     ringproof
#
# Every configuration key can come from the environment (ringproof serve
# --help lists the variables); a file can be mounted and named instead:
#   -v $PWD/ringproof.yaml:/etc/ringproof/ringproof.yaml:ro \
#   -e RINGPROOF_CONFIG=/etc/ringproof/ringproof.yaml
# HEALTHCHECK reads the same configuration, so it finds the API wherever
# it listens.
#
# The image listens on every interface. SIP names its own address in Via,
# Contact and SDP, so give the address carriers reach: the host's public
# (or NAT) address as sip.external_address (RINGPROOF_SIP_EXTERNAL_ADDRESS
# above; docs/trunks.md), or that address as sip.listen with --network
# host (RINGPROOF_SIP_LISTEN=203.0.113.10:5060). Until one is given, serve
# refuses to start and says so. Publish 5060/udp, 5060/tcp, 5061/tcp (TLS)
# and the RTP range 16384-32767/udp.
#
# Base images are pinned by digest. The digests were taken from public
# Dockerfiles that pin the same tags (no registry can be asked from the
# machine this was written on); refresh them with
#   docker buildx imagetools inspect golang:1.26-bookworm
#   docker buildx imagetools inspect gcr.io/distroless/static-debian12:nonroot
FROM golang:1.26-bookworm@sha256:a688600ca24f8a4d3ca77f95b0dd40704a9fc787c826660eb7ba0b641b8b175d AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# .dockerignore keeps .git out, so the commit comes as a build argument
# (ringproof --version prints it).
ARG VERSION=""
ARG COMMIT=""
RUN CGO_ENABLED=0 go build -trimpath \
      -ldflags "-s -w -X main.version=${VERSION} -X main.commit=${COMMIT}" \
      -o /out/ringproof ./cmd/ringproof \
 && mkdir -p -m 0700 /out/data

FROM gcr.io/distroless/static-debian12:nonroot@sha256:d093aa3e30dbadd3efe1310db061a14da60299baff8450a17fe0ccc514a16639
COPY --from=build /out/ringproof /usr/local/bin/ringproof
# Owned by the runtime user, mode 0700, whatever the builder (COPY
# --chown, not a WORKDIR that a classic builder would create as root): a
# new volume on /data takes this directory's owner and mode.
COPY --from=build --chown=65532:65532 /out/data /data
USER 65532:65532
WORKDIR /data
VOLUME ["/data"]
ENV RINGPROOF_HTTP_LISTEN=0.0.0.0:8080 \
    RINGPROOF_SIP_LISTEN=0.0.0.0:5060 \
    RINGPROOF_STORE_DATA_DIR=/data
EXPOSE 8080/tcp 5060/udp 5060/tcp 5061/tcp 16384-32767/udp
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
  CMD ["/usr/local/bin/ringproof", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/ringproof"]
CMD ["serve"]

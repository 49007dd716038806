# imagebom's release image: one static binary on distroless static, non-root (UID 65532).
#
#   export SOURCE_DATE_EPOCH=$(git log -1 --format=%ct)
#   docker buildx build \
#     --build-arg SOURCE_DATE_EPOCH \
#     --build-arg VERSION=$(git describe --tags --always) \
#     --build-arg REVISION=$(git rev-parse HEAD) \
#     --build-arg CREATED=$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y-%m-%dT%H:%M:%SZ) \
#     --output type=image,name=imagebom,rewrite-timestamp=true .
#
# The build is the one `cargo xtask repro` checks for reproducibility (same flags, see
# xtask/src/release.rs): `--locked`, `SOURCE_DATE_EPOCH`, `CARGO_INCREMENTAL=0`, the release
# profile's `codegen-units = 1`, and every build path remapped (/src, /target, /cargo).
# The binary is static: the GNU target with `+crt-static`, as the release build here (the
# musl target is not installed on the build machines; `cargo xtask repro` uses musl when it is).
# A static glibc binary still resolves host names in distroless static: glibc >= 2.34 has the
# `files` and `dns` NSS modules built in (checked by resolving a registry named in /etc/hosts
# from a chroot holding only the binary, /etc/hosts and the CA bundle).
#
# Both base images are pinned by digest; refresh them deliberately
# (`crane digest rust:1.89-bookworm`, `crane digest gcr.io/distroless/static-debian12:nonroot`).

FROM rust:1.89-bookworm@sha256:948f9b08a66e7fe01b03a98ef1c7568292e07ec2e4fe90d88c07bb14563c84ff AS build
ARG SOURCE_DATE_EPOCH=0
ENV SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH} \
    CARGO_INCREMENTAL=0 \
    CARGO_TARGET_DIR=/target \
    RUSTFLAGS="-C target-feature=+crt-static --remap-path-prefix=/src=/src --remap-path-prefix=/target=/target --remap-path-prefix=/usr/local/cargo=/cargo" \
    CFLAGS="-ffile-prefix-map=/src=/src -ffile-prefix-map=/target=/target -ffile-prefix-map=/usr/local/cargo=/cargo"
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p imagebom --target x86_64-unknown-linux-gnu \
 && cp /target/x86_64-unknown-linux-gnu/release/imagebom /imagebom \
 && /imagebom --version

FROM gcr.io/distroless/static-debian12:nonroot@sha256:afa5c872c891853ca7fcf1f12c3edb23f7eeef36189728842dd51042ff57f7ab
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG CREATED=1970-01-01T00:00:00Z
LABEL org.opencontainers.image.title="imagebom" \
      org.opencontainers.image.description="Which container images a Kubernetes distribution deploys, pinned to digests, as CycloneDX and SPDX" \
      org.opencontainers.image.source="https://example.invalid/imagebom" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="Apache-2.0"
COPY --from=build /imagebom /usr/local/bin/imagebom
USER 65532:65532
WORKDIR /work
ENTRYPOINT ["/usr/local/bin/imagebom"]
CMD ["--help"]

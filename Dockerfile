# Ottoscaler as one self-contained executable (deno compile) in a distroless image.
#
#   docker build -t ottoscaler:latest .      (or: deno task image)
#
# The build stage needs network access: `deno install` fetches the npm packages pinned in
# deno.lock, and `deno compile` fetches Deno's `denort` runtime for the target.

# ---- build ---------------------------------------------------------------------------------------
FROM denoland/deno:2.9.6 AS build
WORKDIR /src

# Dependencies first, so that this layer is reused until deno.json or deno.lock change.
COPY deno.json deno.lock ./
RUN deno install --frozen

COPY main.ts ./
COPY mod/ mod/
COPY proto/ proto/

# The .proto files are imported as text (mod/grpc/proto_files.ts), so they are part of the module
# graph and embedded anyway; --include also puts them on the executable's embedded file system.
RUN deno check main.ts \
 && mkdir -p /out \
 && deno compile --allow-all --frozen --include proto/ottoscaler --output /out/ottoscaler main.ts \
 && /out/ottoscaler --help >/dev/null

# ---- run -----------------------------------------------------------------------------------------
# glibc and libgcc (what a deno-compiled executable links against), no shell, no package manager.
FROM gcr.io/distroless/cc-debian12:nonroot

COPY --from=build /out/ottoscaler /ottoscaler

USER 65532:65532
EXPOSE 9090 9091
ENTRYPOINT ["/ottoscaler", "serve"]

"""Marquee's shared package: the one home of what more than one process uses. No process keeps
its own copy of any of it, and it imports no process's package (the client and the three servers
import it, never the other way round).

- `marquee.v1`: the gRPC contracts (`*.proto` and the committed generated code; `protogen`
  regenerates it).
- `marquee.serving`: the one server bootstrap all three servers run on (gRPC aio server, health,
  reflection, metrics, errors, settings, TLS, auth, structured logs, the health probe).
- `addresses`: each server's default gRPC, metrics and HTTP ports, and the client's default
  addresses.
- `titles`: title folding, trailing articles, MovieLens and display forms, years.
- `layout_drawing`: boxes and labels drawn on a picture, the same in the client and the render
  server.
- `atomic_files`: write-then-rename with one file mode; sweeping what killed writes leave.
- `fonts`, `data_location`, `extras`: the bundled typeface; where the MovieLens data is found
  (or downloaded); the message when an optional extra is missing.
- `local_stack`, `demo`: developer tools that start the servers as `python -m <server>`
  processes (the tests, the benchmarks, `make demo`).

It lives beside the `.proto` files (under `protos/`) because it is what all processes agree on.
"""

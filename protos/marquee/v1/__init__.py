"""Generated protobuf and gRPC code for the `marquee.v1` contracts (`make protos` regenerates it)."""

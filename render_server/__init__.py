"""The render server: CreatiLayout (SiamLayout on SD3) or the draft compositor behind a streaming gRPC API."""

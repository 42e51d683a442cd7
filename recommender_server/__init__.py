"""The recommender server: SASRec as ONNX in a Triton-style model repository, served over the
KServe v2 / Triton gRPC protocol and Marquee's `RecommenderService`."""

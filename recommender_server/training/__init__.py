"""Offline work on the recommender, never shipped in the serving image: SASRec in PyTorch
(`sasrec`), the training loop (`loop`, `python -m recommender_server.training`), evaluation
(`evaluation`, `python -m recommender_server.training.evaluation`), the ranking metrics both use
and the export to the ONNX model repository the server loads (`onnx_export`).

Training imports the serving package (the MovieLens reader, the model repository's layout);
serving never imports this one."""

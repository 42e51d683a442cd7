"""The CreatiLayout model: the SiamLayout SD3 transformer (`transformer`), the layout-to-image
pipeline (`pipeline`), compiling it for speed (`compilation`), loading it from the hub or a
directory (`loading`), and random-weight builds at the released sizes for speed checks
(`random_weights`). Every module here imports torch and diffusers; the server reaches them only
through `render_server.creatilayout_engine`, which imports them when the engine loads."""

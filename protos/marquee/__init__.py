"""Marquee's shared package: the gRPC contracts (`marquee.v1`), the one server bootstrap every
server runs on (`marquee.serving`) and where the MovieLens data is found (`marquee.data_location`).

It lives beside the `.proto` files because it is what all processes agree on.
"""

"""Neural-network ops (conv, pooling, normalization, losses): the "nn" plugin."""

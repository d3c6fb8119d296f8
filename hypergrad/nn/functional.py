"""hypergrad.nn.functional: the functions behind the layers (`import hypergrad.nn.functional
as F`).

Every function in this namespace is an op of the "nn" plugin (hypergrad/ops/nn.py), bound
here when the plugin loads, exactly as `hypergrad.mul` is bound by the "arithmetic" plugin:
so each one is listed by `hypergrad ops` and checked against torch by the conformance suite.
The namespace holds, with torch's signatures:

- linear layers: linear, bilinear
- activations: relu, relu6, leaky_relu, elu, selu, celu, gelu, silu, mish, softplus, hardtanh,
  sigmoid, tanh, logsigmoid, softsign, tanhshrink, softmax, log_softmax, softmin
- dropout, dropout1d, dropout2d
- losses: cross_entropy, nll_loss, mse_loss, l1_loss, smooth_l1_loss, huber_loss,
  binary_cross_entropy, binary_cross_entropy_with_logits, kl_div, cosine_embedding_loss,
  margin_ranking_loss
- convolution: conv1d, conv2d, conv_transpose1d, conv_transpose2d, unfold, fold
- pooling: max_pool1d, max_pool2d, avg_pool1d, avg_pool2d, adaptive_avg_pool1d,
  adaptive_avg_pool2d
- normalization: batch_norm, layer_norm, group_norm, instance_norm, normalize
- pad, interpolate (upsample), embedding, one_hot, cosine_similarity, pairwise_distance,
  scaled_dot_product_attention
"""


def __getattr__(name):
    # reached only for names no plugin bound: say where they would come from
    raise AttributeError(f"module 'hypergrad.nn.functional' has no attribute '{name}' (its "
                         "functions come from the 'nn' op plugin; `hypergrad plugins` shows "
                         "whether it loaded)")

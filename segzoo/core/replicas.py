"""Reductions over the global batch when the loss only sees one replica's slice of it.

Under `tf.distribute` (MirroredStrategy, MultiWorkerMirroredStrategy, TPUStrategy) Keras
calls the loss once per replica on that replica's slice of the global batch, and sums the
gradients of the replicas. A ratio of sums taken over one slice (a region loss's TP / FP /
FN, a weighted mean, a ranking of all the batch's errors) is not the ratio over the global
batch. So every reduction of a segzoo loss that spans the batch goes through this module:

- `global_sum` all-reduces its arguments across replicas. The gradient of an all-sum is an
  all-sum (tf.distribute defines it so), so every replica computes the loss of the global
  batch and the gradient reaching its own pixels is the global loss's gradient.
- `global_max` takes the maximum over the replicas, for values that need no gradient.
- `global_gather` all-gathers along an axis (its gradient sums and slices back).
- `scale_to_replicas` divides by the number of replicas, as Keras' own losses do
  (`keras.losses.Loss.__call__`): Keras unscales the value it reports and sums the
  replicas' gradients, so the gradient applied is the global loss's.

With one replica, in TensorFlow's cross-replica context, and with the other backends these
are no-ops. Under JAX with `keras.distribution.DataParallel` the loss runs on the global,
sharded batch, so there is nothing to sum. Under PyTorch `torch.distributed`
(a DistributedDataParallel loop) the statistics stay per process: `warn_if_local` says so
once at run time.
"""

import warnings

import keras
from keras import ops

_WARNED = set()


def _tf_replica_context():
    """TensorFlow's replica context when it spans more than one replica, else None."""
    if keras.backend.backend() != "tensorflow":
        return None
    import tensorflow as tf

    context = tf.distribute.get_replica_context()
    if context is None or context.num_replicas_in_sync <= 1:
        return None
    return context


def global_sum(*tensors):
    """Each tensor summed over the replicas (the tensors as given with one replica)."""
    context = _tf_replica_context()
    if context is None:
        return tensors
    import tensorflow as tf

    return tuple(context.all_reduce(tf.distribute.ReduceOp.SUM, list(tensors)))


def global_max(tensor):
    """The tensor's elementwise maximum over the replicas (tf.distribute reduces only by
    sum or mean, so the replicas' values are gathered)."""
    context = _tf_replica_context()
    if context is None:
        return tensor
    return ops.max(context.all_gather(ops.expand_dims(tensor, 0), axis=0), axis=0)


def global_gather(*tensors, axis):
    """Each tensor's replicas concatenated along `axis`, in replica order."""
    context = _tf_replica_context()
    if context is None:
        return tensors
    return tuple(context.all_gather(list(tensors), axis=axis))


def global_mean(values):
    """Mean of a (B,) vector of per-image values over the global batch."""
    total, count = global_sum(ops.sum(values), ops.sum(ops.ones_like(values)))
    return total / ops.maximum(count, 1.0)


def scale_to_replicas(loss):
    """loss / replicas under a tf.distribute strategy, as Keras scales its own losses."""
    if keras.backend.backend() != "tensorflow":
        return loss
    import tensorflow as tf

    replicas = tf.distribute.get_strategy().num_replicas_in_sync
    return loss if replicas <= 1 else loss * (1.0 / replicas)


def warn_if_local(loss_name):
    """Warns once per loss class when a batch statistic cannot be pooled across processes."""
    if keras.backend.backend() != "torch" or loss_name in _WARNED:
        return
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
        _WARNED.add(loss_name)
        warnings.warn(
            f"segzoo.losses.{loss_name}: under torch.distributed (world size "
            f"{dist.get_world_size()}) the batch statistics of this loss (pooled TP/FP/FN with "
            "per_image=False, weighted means, Lovasz's ranking) are computed on each process's own "
            "batch, not summed across processes, so the loss differs from one device's on the "
            "global batch. Use per_image=True, or TensorFlow tf.distribute or JAX "
            "keras.distribution, where segzoo reduces over the global batch. See docs/distributed.md.",
            stacklevel=3,
        )

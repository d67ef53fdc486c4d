"""NumPy re-implementations of the segzoo losses, written from the published formulas
with explicit loops over images and classes: an independent check on the Keras code."""

import numpy as np


def one_hot(labels, classes):
    return (labels[..., None] == np.arange(classes)).astype(np.float64)


def softmax(x):
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def region_stats(truth, prob, weight, per_image):
    """Per image (or for the whole batch) and class: soft TP, FP, FN."""
    groups = [slice(i, i + 1) for i in range(len(truth))] if per_image else [slice(None)]
    stats = []
    for group in groups:
        t, p, w = truth[group], prob[group], weight[group]
        row = []
        for c in range(truth.shape[-1]):
            tc, pc, wc = t[..., c].ravel(), p[..., c].ravel(), w[..., 0].ravel()
            row.append((np.sum(wc * tc * pc), np.sum(wc * (1 - tc) * pc), np.sum(wc * tc * (1 - pc))))
        stats.append(row)
    return stats


def _ratio(num, den):
    return 1.0 if den == 0 else num / den


def _class_average(truth, prob, weight, per_class_loss, per_image, class_weights):
    losses = []
    for row in region_stats(truth, prob, weight, per_image):
        per_class = [per_class_loss(tp, fp, fn) for tp, fp, fn in row]
        w = np.ones(len(row)) if class_weights is None else np.asarray(class_weights, float)
        losses.append(np.sum(w * per_class) / np.sum(w))
    return float(np.mean(losses))


def tversky_loss(truth, prob, weight, alpha, beta, per_image=False, smooth=0.0, class_weights=None, gamma=1.0):
    def loss(tp, fp, fn):
        return (1 - _ratio(tp + smooth, tp + alpha * fp + beta * fn + smooth)) ** gamma

    return _class_average(truth, prob, weight, loss, per_image, class_weights)


def dice_loss(truth, prob, weight, beta=1.0, per_image=False, smooth=0.0, class_weights=None):
    """1 - F_beta with the smoothing term added as MONAI adds it to Dice."""
    b2 = beta**2

    def loss(tp, fp, fn):
        return 1 - _ratio((1 + b2) * tp + smooth, (1 + b2) * tp + b2 * fn + fp + smooth)

    return _class_average(truth, prob, weight, loss, per_image, class_weights)


def jaccard_loss(truth, prob, weight, **kwargs):
    return tversky_loss(truth, prob, weight, 1.0, 1.0, **kwargs)


def generalized_dice_loss(truth, prob, weight, weighting="square", per_image=False, smooth=0.0):
    losses = []
    for row in region_stats(truth, prob, weight, per_image):
        support = np.array([tp + fn for tp, fp, fn in row])
        power = {"square": 2, "simple": 1, "uniform": 0}[weighting]
        with np.errstate(divide="ignore"):
            w = 1.0 / support**power if power else np.ones_like(support)
        finite = w[np.isfinite(w)]
        w[~np.isfinite(w)] = finite.max() if finite.size else 0.0
        num = 2 * sum(wc * tp for wc, (tp, fp, fn) in zip(w, row)) + smooth
        den = sum(wc * (2 * tp + fp + fn) for wc, (tp, fp, fn) in zip(w, row)) + smooth
        losses.append(1 - _ratio(num, den))
    return float(np.mean(losses))


def cross_entropy(labels, prob, pixel_weight, class_weights=None, label_smoothing=0.0):
    """Multiclass CE: weighted mean over pixels of -sum_c t'_c log p_c."""
    classes = prob.shape[-1]
    cw = np.ones(classes) if class_weights is None else np.asarray(class_weights, float)
    total, norm = 0.0, 0.0
    for index in np.ndindex(labels.shape):
        target = np.full(classes, label_smoothing / classes)
        target[labels[index]] += 1 - label_smoothing
        w = pixel_weight[index] * cw[labels[index]]
        total += w * -np.sum(target * np.log(prob[index]))
        norm += w
    return total / norm


def focal(labels, prob, pixel_weight, gamma, alpha=None):
    total, norm = 0.0, 0.0
    for index in np.ndindex(labels.shape):
        pt = prob[index][labels[index]]
        a = 1.0 if alpha is None else alpha[labels[index]]
        total += pixel_weight[index] * -a * (1 - pt) ** gamma * np.log(pt)
        norm += pixel_weight[index]
    return total / norm


def binary_cross_entropy(truth, prob, pixel_weight, pos_weight=1.0, neg_weight=1.0):
    t, p, w = truth.ravel(), prob.ravel(), pixel_weight.ravel()
    w = w * np.where(t == 1, pos_weight, neg_weight)
    return np.sum(w * -(t * np.log(p) + (1 - t) * np.log(1 - p))) / np.sum(w)


def balanced_cross_entropy(truth, prob, pixel_weight, beta):
    t, p, w = truth.ravel(), prob.ravel(), pixel_weight.ravel()
    per_pixel = -(beta * t * np.log(p) + (1 - beta) * (1 - t) * np.log(1 - p))
    return np.sum(w * per_pixel) / np.sum(w)


def _berman_lovasz_grad(gt_sorted):
    """lovasz_grad from Berman et al.'s published lovasz_losses.py, in NumPy."""
    gts = gt_sorted.sum()
    intersection = gts - gt_sorted.cumsum()
    union = gts + (1 - gt_sorted).cumsum()
    jaccard = 1.0 - intersection / union
    if len(gt_sorted) > 1:
        jaccard[1:] = jaccard[1:] - jaccard[:-1]
    return jaccard


def lovasz_hinge_flat(logits, labels):
    if len(labels) == 0:
        return 0.0
    signs = 2.0 * labels - 1.0
    errors = 1.0 - logits * signs
    order = np.argsort(-errors, kind="stable")
    return float(np.dot(np.maximum(errors[order], 0), _berman_lovasz_grad(labels[order])))


def lovasz_softmax_flat(probas, labels, classes):
    losses = []
    for c in range(classes):
        fg = (labels == c).astype(float)
        if fg.sum() == 0:  # classes="present"
            continue
        errors = np.abs(fg - probas[:, c])
        order = np.argsort(-errors, kind="stable")
        losses.append(np.dot(errors[order], _berman_lovasz_grad(fg[order])))
    return float(np.mean(losses)) if losses else 0.0


def lovasz_weighted_flat(errors, truth, weight):
    """Lovasz extension of the weighted Jaccard loss at errors >= 0, by a full sort in
    float64: (value, gradient w.r.t. the errors). A pixel of weight w counts as w pixels,
    a soft truth t as t foreground and 1 - t background; Berman's lovasz_grad when both
    are 0/1."""
    order = np.argsort(-errors, kind="stable")
    t, w = truth[order], weight[order]
    positives = np.sum(w * t)
    intersection = positives - np.cumsum(w * t)
    union = positives + np.cumsum(w * (1 - t))
    jaccard = 1 - np.divide(intersection, union, out=np.ones_like(union), where=union > 0)
    gradient = np.empty_like(jaccard)
    gradient[order] = np.diff(jaccard, prepend=0.0)
    return float(np.dot(errors, gradient)), gradient


def lovasz_softmax_weighted(truth, probs, weight, per_image):
    """Lovasz softmax over the classes present (foreground weight > 0) for (B, H, W, C)
    soft targets and probabilities and (B, H, W) weights: (value, gradient w.r.t. the
    probabilities)."""
    groups = [np.s_[g : g + 1] for g in range(len(truth))] if per_image else [np.s_[:]]
    value, gradient = 0.0, np.zeros_like(probs)
    for g in groups:
        t, p, w = truth[g], probs[g], np.broadcast_to(weight[g][..., None], truth[g].shape)
        present = [c for c in range(t.shape[-1]) if np.sum(w[..., c] * t[..., c]) > 0]
        for c in present:
            errors = np.abs(t[..., c] - p[..., c]).ravel()
            v, de = lovasz_weighted_flat(errors, t[..., c].ravel(), w[..., c].ravel())
            scale = 1.0 / (len(present) * len(groups))
            value += v * scale
            gradient[g][..., c] = (de * np.sign(p[..., c] - t[..., c]).ravel()).reshape(p.shape[:-1]) * scale
    return value, gradient


def lovasz(labels, pred, keep, per_image, binary):
    """Pixels with keep == False are removed, as the reference's `ignore` does."""
    groups = range(len(labels)) if per_image else [slice(None)]
    values = []
    for g in groups:
        mask = keep[g].ravel()
        flat_labels = labels[g].ravel()[mask]
        if binary:
            values.append(lovasz_hinge_flat(pred[g].ravel()[mask], flat_labels.astype(float)))
        else:
            classes = pred.shape[-1]
            values.append(lovasz_softmax_flat(pred[g].reshape(-1, classes)[mask], flat_labels, classes))
    return float(np.mean(values))

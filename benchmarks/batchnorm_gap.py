"""Training mode against inference mode after a short from-scratch training (issue 15).

For each backbone (encoder_weights=None) and BatchNorm momentum: UNet, 4 classes, on
`segzoo.datasets.shapes(200, image_size=64, foreground_fraction=0.04)` (160 training
images, ~4 % foreground in three small classes, 40 held out), Dice + CrossEntropy, Adam
2e-3, batch 16, 15 epochs = 150 steps. Reported on the held-out images: foreground mean
IoU with `model(x, training=True)` and with `model.predict(x)`, then `model.predict` after
`segzoo.recalibrate_batchnorm(model, training_images)`. Each run is its own process.

Run: python -m benchmarks.batchnorm_gap [--backbones none,mobilenetv2,resnet50,efficientnetb0]
                                        [--momenta default,0.99]
"""

import argparse
import json
import os
import subprocess
import sys
import time

from benchmarks._machine import load, machine

_CHILD = r"""
import json, sys, time
import numpy as np, keras, segzoo
backbone, momentum = sys.argv[1], None if sys.argv[2] == "default" else float(sys.argv[2])
keras.utils.set_random_seed(0)
split = segzoo.datasets.shapes(200, image_size=64, num_classes=4, foreground_fraction=0.04, seed=0)
(xt, yt), (xv, yv) = split.arrays["train"], split.arrays["validation"]
if backbone == "none":  # a user who scales images to [0, 1]
    prepare = lambda a: a.astype("float32") / 255.0
else:
    function = segzoo.data.preprocessing_function(backbone)
    prepare = lambda a: np.asarray(function(a.astype("float32"))) if function else a.astype("float32")
xt, xv = prepare(xt), prepare(xv)
options = {"depth": 3, "encoder_filters": 16} if backbone == "none" else {}
model = segzoo.build("unet", backbone=backbone, num_classes=4, input_shape=(64, 64, 3),
                     batchnorm_momentum=momentum, **options)
model.compile(optimizer=keras.optimizers.Adam(2e-3), loss=segzoo.losses.Dice() + segzoo.losses.CrossEntropy())
start = time.perf_counter()
model.fit(xt, yt.astype("int32"), batch_size=16, epochs=15, verbose=0)
seconds = time.perf_counter() - start

def foreground_miou(prediction):
    labels = np.asarray(prediction).argmax(-1)
    scores = [((labels == c) & (yv == c)).sum() / ((labels == c) | (yv == c)).sum() for c in (1, 2, 3)]
    return float(np.mean(scores))

training = np.concatenate([keras.ops.convert_to_numpy(model(xv[i:i + 16], training=True))
                           for i in range(0, len(xv), 16)])
result = {"fit_s": seconds, "training_mode": foreground_miou(training),
          "inference": foreground_miou(model.predict(xv, verbose=0))}
segzoo.recalibrate_batchnorm(model, xt)
result["recalibrated"] = foreground_miou(model.predict(xv, verbose=0))
print(json.dumps(result))
"""


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backbones", default="none,mobilenetv2,resnet50,efficientnetb0")
    parser.add_argument("--momenta", default="default,0.99", help="'default' is segzoo's (batchnorm_momentum=None)")
    args = parser.parse_args()
    print(f"{time.strftime('%Y-%m-%d')}, {machine()}, load {load()}")
    print("| backbone | momentum | fit s | training mode | model.predict | ratio | after recalibrate_batchnorm |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for backbone in args.backbones.split(","):
        for momentum in args.momenta.split(","):
            result = _run(backbone, momentum)
            ratio = result["inference"] / result["training_mode"] if result["training_mode"] else float("nan")
            print(f"| {backbone} | {momentum} | {result['fit_s']:.0f} | {result['training_mode']:.3f} | "
                  f"{result['inference']:.3f} | {ratio:.3f} | {result['recalibrated']:.3f} |", flush=True)
    print(f"load after: {load()}")


def _run(backbone, momentum):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run([sys.executable, "-c", _CHILD, backbone, momentum], capture_output=True, text=True,
                          env=env, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    main()

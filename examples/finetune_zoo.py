"""Fine-tune a zoo checkpoint on new data with a different number of classes.

    python examples/finetune_zoo.py                       # about 2-3 minutes on 2 CPU cores
    python examples/finetune_zoo.py --source path/to/checkpoint   # another checkpoint folder or repo id

The zoo's 4-class ResUNet (background, disk, square, triangle) becomes a 6-class model
that also knows rings and crosses: from_pretrained(num_classes=6) keeps every weight but
the head; the model is trained with the encoder frozen, then whole with a smaller
learning rate, and the held-out split of the new task is scored per class.
"""

import argparse
import math
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402

import segzoo  # noqa: E402

CLASS_NAMES = ["background", "disk", "square", "triangle", "ring", "cross"]
BATCH_SIZE = 8


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--source", default="resunet-shapes-imbalanced",
                        help="a zoo name (bundled with segzoo, no download), a hub repo id or a checkpoint folder")
    parser.add_argument("--images", type=int, default=320, help="new images in total (a fifth held out)")
    parser.add_argument("--frozen-epochs", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=5, help="epochs with the encoder unfrozen")
    return parser.parse_args()


def compile_model(model, learning_rate, epochs, steps):
    schedule = keras.optimizers.schedules.CosineDecay(learning_rate, decay_steps=max(1, epochs * steps))
    model.compile(optimizer=keras.optimizers.Adam(schedule),
                  loss=segzoo.losses.Dice() + segzoo.losses.CrossEntropy(),
                  metrics=[segzoo.metrics.IoU(len(CLASS_NAMES), class_indexes=list(range(1, len(CLASS_NAMES))),
                                            name="shape_iou")])


def prepared(dataset, backbone):
    """Images scaled as the checkpoint's backbone expects (its config records which)."""
    prepare = segzoo.data.preprocessing_function(backbone)
    return dataset if prepare is None else dataset.map(lambda x, y: (prepare(x), y))


def main():
    args = parse_args()
    keras.utils.set_random_seed(0)
    model = segzoo.from_pretrained(args.source, num_classes=len(CLASS_NAMES), activation="softmax")
    print(f"loaded {args.source}: {model.count_params():,} parameters, new {len(CLASS_NAMES)}-class head")

    data = segzoo.datasets.shapes(args.images, image_size=model.model_input_shape[0], num_classes=len(CLASS_NAMES),
                                  colours="random", seed=21, batch_size=BATCH_SIZE)
    train, validation = (prepared(d, model.backbone) for d in (data.train, data.validation))
    steps = math.ceil(len(data.arrays["train"][0]) / BATCH_SIZE)

    segzoo.freeze_encoder(model)  # 1. only the decoder and the new head learn
    compile_model(model, 3e-3, args.frozen_epochs, steps)
    model.fit(train, validation_data=validation, epochs=args.frozen_epochs, verbose=2)

    segzoo.unfreeze_encoder(model, freeze_batchnorm=True)  # 2. everything, gently
    compile_model(model, 1e-3, args.epochs, steps)
    model.fit(train, validation_data=validation, epochs=args.epochs, verbose=2)

    print()
    segzoo.evaluate(model, validation, class_names=CLASS_NAMES, print_table=True)


if __name__ == "__main__":
    main()

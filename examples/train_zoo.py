"""Train the segzoo zoo checkpoints on the built-in datasets and save them as hub-repo folders.

    python examples/train_zoo.py                     # all of them, into segzoo/zoo/
    python examples/train_zoo.py unet-mobilenetv2-shapes-binary --epochs 2 --out /tmp/zoo
    python examples/train_zoo.py --rescore           # score segzoo/zoo/ again, rewrite the cards

Each recipe names a model, a built-in dataset (made on the spot, no download) and a loss.
The held-out split is scored with segzoo.evaluate and the mean IoU goes on the model card;
tests/test_zoo.py regenerates the same split from RECIPES and checks it again.
Each trained folder is entered in weights_manifest.json (segzoo.hub.manifest_entry: every
file's sha256 and size) as repo segzoo/<name> at its content revision; after
`segzoo.push_to_hub(folder, repo_id)` to the public hub, regenerate the entry with the
commit that push returns.
"""

import argparse
import json
import math
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402

import segzoo  # noqa: E402
from segzoo.hub import card, checkpoint  # noqa: E402

RECIPES = {
    "unet-mobilenetv2-shapes-binary": {
        "model": dict(architecture="unet", backbone="mobilenetv2", num_classes=1, activation="sigmoid",
                      input_shape=(96, 96, 3), alpha=0.35, decoder_filters=(64, 48, 32, 16, 8)),
        "dataset": ("shapes", dict(n=480, image_size=96, num_classes=2, foreground_fraction=0.25, seed=11)),
        "class_names": ["background", "disk"],
        "loss": lambda: segzoo.losses.Dice(mode="binary") + segzoo.losses.CrossEntropy(mode="binary"),
        "epochs": 12,
    },
    "resunet-shapes-imbalanced": {
        "model": dict(architecture="resunet", backbone="none", num_classes=4, activation="softmax",
                      input_shape=(96, 96, 3), depth=4, encoder_filters=(16, 32, 64, 128, 256)),
        "dataset": ("shapes", dict(n=480, image_size=96, num_classes=4, foreground_fraction=0.05, seed=12,
                                   colours="random")),
        "class_names": ["background", "disk", "square", "triangle"],
        "loss": lambda: segzoo.losses.Dice() + segzoo.losses.CrossEntropy(),
        "epochs": 12,
    },
    "unet-digits": {
        "model": dict(architecture="unet", backbone="none", num_classes=11, activation="softmax",
                      input_shape=(64, 64, 3), depth=4, encoder_filters=(16, 32, 64, 128, 256)),
        "dataset": ("digits", dict(n=1600, image_size=64, seed=13)),
        "class_names": ["background"] + [f"digit {d}" for d in range(10)],
        "loss": lambda: segzoo.losses.Dice() + segzoo.losses.CrossEntropy(),
        "epochs": 24,
    },
}
BATCH_SIZE = 8
LICENSE = "apache-2.0"


def load_data(name):
    """The recipe's Split, with images prepared as its backbone expects."""
    dataset, options = RECIPES[name]["dataset"]
    split = getattr(segzoo.datasets, dataset)(batch_size=BATCH_SIZE, **options)
    prepare = segzoo.data.preprocessing_function(RECIPES[name]["model"]["backbone"])
    if prepare is None:
        return split.train, split.validation, split

    def prepared(x, y):
        return prepare(x), y

    return split.train.map(prepared), split.validation.map(prepared), split


def train(name, epochs, out_dir, seed=0):
    recipe = RECIPES[name]
    keras.utils.set_random_seed(seed)
    train_data, validation, split = load_data(name)
    model = segzoo.build(**recipe["model"], name=name.replace("-", "_"))
    steps = math.ceil(len(split.arrays["train"][0]) / BATCH_SIZE)
    schedule = keras.optimizers.schedules.CosineDecay(3e-3, decay_steps=epochs * steps)
    model.compile(optimizer=keras.optimizers.Adam(schedule), loss=recipe["loss"]())
    start = time.perf_counter()
    model.fit(train_data, epochs=epochs, verbose=2)
    seconds = time.perf_counter() - start
    metrics = _score(model, name, validation)
    folder = os.path.join(out_dir, name)
    segzoo.save_pretrained(model, folder, class_names=recipe["class_names"], metrics=metrics,
                           dataset=f"segzoo-{recipe['dataset'][0]}", license=LICENSE)
    print(f"{name}: {model.count_params():,} parameters, trained {seconds:.0f} s, held-out {metrics} -> {folder}")
    return metrics


def _score(model, name, validation):
    report = segzoo.evaluate(model, validation, class_names=RECIPES[name]["class_names"], print_table=True)
    return {"mean_iou": round(report["mean"]["iou"], 4), "pixel_accuracy": round(report["pixel_accuracy"], 4)}


def rescore(name, folder):
    """Score a trained folder again on its held-out split (after segzoo changed how a score
    is defined) and rewrite the metrics of its config.json and card; weights and golden
    files stay as they are."""
    _, validation, _ = load_data(name)
    metrics = _score(segzoo.from_pretrained(folder), name, validation)
    path = os.path.join(folder, "config.json")
    with open(path, encoding="utf-8") as handle:
        config = json.load(handle)
    config["metrics"] = metrics
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(json.dumps(config, indent=2) + "\n")
    build_args, metadata = checkpoint.split_config(config)
    with open(os.path.join(folder, "README.md"), "w", encoding="utf-8") as handle:
        handle.write(card.model_card(build_args, metadata))
    print(f"{name}: rescored {metrics} -> {folder}")
    return metrics


def enter_in_manifest(name, folder, manifest=None):
    entries = segzoo.hub.load_manifest(manifest)
    revision = segzoo.hub.content_revision(folder)
    entries[name] = segzoo.hub.manifest_entry(folder, f"segzoo/{name}", revision)
    print(f"{name}: entered in {segzoo.hub.write_manifest(entries, manifest)} at revision {revision}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("names", nargs="*", help=f"recipes to train (default: all): {', '.join(RECIPES)}")
    parser.add_argument("--epochs", type=int, help="override each recipe's epochs")
    parser.add_argument("--out", default=os.path.join("segzoo", "zoo"),
                        help="where the checkpoint folders go (segzoo/zoo/ ships in the wheel)")
    parser.add_argument("--manifest", help="the manifest to update (default: segzoo's own)")
    parser.add_argument("--rescore", action="store_true",
                        help="score the folders in --out again and rewrite their metrics, without training")
    args = parser.parse_args()
    unknown = sorted(set(args.names) - set(RECIPES))
    if unknown:
        parser.error(f"unknown recipe {', '.join(unknown)}; choose from {', '.join(RECIPES)}")
    for name in args.names or RECIPES:
        folder = os.path.join(args.out, name)
        if args.rescore:
            rescore(name, folder)
        else:
            train(name, args.epochs or RECIPES[name]["epochs"], args.out)
        enter_in_manifest(name, folder, args.manifest)


if __name__ == "__main__":
    main()

"""What several subcommands share: registering one, the model argument, sizes and names."""

from segzoo.data import preprocessing_function
from segzoo.errors import ConfigError
from segzoo.hub import from_pretrained
from segzoo.inference import to_labels
from segzoo.plots import panels, save_picture


def one_line(error):
    return " ".join(str(error).split()) or type(error).__name__


def command(commands, name, run, help, **options):
    parser = commands.add_parser(name, help=help, description=help, **options)
    parser.set_defaults(run=run, prog=parser.prog)
    return parser


def add_model_argument(parser):
    parser.add_argument("model", metavar="MODEL", help="a checkpoint folder, zoo name or hub repo id org/name")
    parser.add_argument("--revision", help="with a repo id: a branch, tag or commit")


def load_model(args):
    return from_pretrained(args.model, revision=args.revision)


def input_size(model, requested):
    """The model's fixed (height, width), or `requested` for a model that takes any size."""
    fixed = tuple(model.model_input_shape[:2])
    if None not in fixed:
        if requested is not None and tuple(requested) != fixed:
            raise ConfigError(
                f"the model takes {fixed[0]}x{fixed[1]} images; drop --image-size {requested[0]}x{requested[1]} "
                "(images are resized to the model's size)."
            )
        return fixed
    if requested is None:
        raise ConfigError("the model takes images of any size: pass --image-size (e.g. 256).")
    return tuple(requested)


def label_names(requested, dataset_names, model, labels):
    """One name per label, background first (a 1-channel model's labels: background, foreground)."""
    names = requested or dataset_names or list(getattr(model, "class_names", ()) or ())
    if model.num_classes == 1 and len(names) == 1:
        names = ["background", *names]
    if len(names) == labels:
        return list(names)
    if requested:
        raise ConfigError(f"--class-names gives {len(requested)} names for {labels} classes.")
    return [f"class_{i}" for i in range(labels)]


def write_overlays(model, data, names, folder, limit, errors=False):
    """Panel pictures (image | ground truth | prediction, | errors with `errors`) of the first
    `limit` images of `data`, (images in [0, 255], masks) batches, to folder/0000.png ..."""
    if limit < 1:
        return
    folder.mkdir(parents=True, exist_ok=True)
    prepare = preprocessing_function(model)
    written = 0
    for images, masks, *_ in data:
        x = prepare(images) if prepare is not None else images
        predicted = to_labels(model.predict_on_batch(x), model.activation)
        for image, truth, guess in zip(images.numpy(), masks.numpy(), predicted):
            picture = panels(image, guess, len(names), truth=truth, class_names=names, errors=errors)
            save_picture(picture, folder / f"{written:04d}.png")
            written += 1
            if written == limit:
                break
        if written == limit:
            break
    panes = "image | ground truth | prediction" + (" | errors" if errors else "")
    print(f"overlays ({panes}): {written} in {folder}")

"""The README.md model card: YAML front matter the hub indexes, then a page for people."""

import yaml

PREPROCESSING_TEXT = {
    "tf": "pixels scaled to [-1, 1] (`x / 127.5 - 1`)",
    "caffe": "BGR channel order with the ImageNet channel means subtracted "
    "(`keras.applications.resnet.preprocess_input`)",
    "none": "raw pixel values in [0, 255]; the network rescales them itself",
}


def front_matter(config, metadata):
    """The card metadata the hub reads (library, task, license, datasets, metrics)."""
    data = {"library_name": "segzoo", "pipeline_tag": "image-segmentation"}
    if metadata.get("license"):
        data["license"] = metadata["license"]
    dataset = metadata.get("dataset")
    if dataset:
        data["datasets"] = [dataset]
    metrics = metadata.get("metrics") or {}
    if metrics:
        data["metrics"] = list(metrics)
    tags = ["segzoo", "keras", "semantic-segmentation", config["architecture"], config.get("backbone")]
    data["tags"] = [tag for tag in tags if tag and tag != "none"]
    if metrics and dataset:
        data["model-index"] = [_model_index(config, dataset, metrics)]
    return data


def _model_index(config, dataset, metrics):
    return {
        "name": config.get("name") or config["architecture"],
        "results": [
            {
                "task": {"type": "image-segmentation", "name": "Semantic segmentation"},
                "dataset": {"name": dataset, "type": dataset},
                "metrics": [{"type": key, "name": key, "value": float(value)}
                            for key, value in metrics.items()],
            }
        ],
    }


def model_card(config, metadata):
    """The whole README.md text."""
    header = yaml.safe_dump(front_matter(config, metadata), sort_keys=False, allow_unicode=True)
    sections = [
        _title(config, metadata), _usage(config), _input(config, metadata), _classes(metadata), _metrics(metadata),
    ]
    return f"---\n{header}---\n\n" + "\n".join(section for section in sections if section)


def _title(config, metadata):
    return (
        f"# {config.get('name') or config['architecture']}\n\n"
        f"A `{config['architecture']}` semantic-segmentation model with a `{config.get('backbone')}` "
        f"encoder and {config.get('num_classes')} output channel(s) "
        f"({config.get('activation') or 'logits'}), "
        f"saved with segzoo {metadata.get('segzoo_version')} and Keras {metadata.get('keras_version')}.\n"
    )


def _usage(config):
    return (
        "## Use\n\n"
        "```python\n"
        "import segzoo\n\n"
        "# a hub repo pinned to a commit, or the local folder holding this card\n"
        'model = segzoo.from_pretrained("org/name", revision="<40-hex commit>")\n'
        "probabilities = model.predict(images)\n\n"
        "# fine-tune on other classes: every weight but the head is loaded\n"
        'model = segzoo.from_pretrained("org/name", revision="<40-hex commit>", num_classes=5)\n'
        "```\n\n"
        "Loading rebuilds the model from `config.json` with `segzoo.build(**config)` and reads "
        "`model.weights.h5`; no pickle is involved. `input.npz` / `output.npz` hold a golden "
        "input and the output this checkpoint gave for it.\n"
    )


def _input(config, metadata):
    shape = config.get("input_shape")
    size = " x ".join("any" if side is None else str(side) for side in shape) if shape else "unknown"
    preprocessing = metadata.get("preprocessing", "none")
    text = PREPROCESSING_TEXT.get(preprocessing, preprocessing)
    if config.get("include_preprocessing") and preprocessing != "none":
        text = f"inside the model (include_preprocessing): give it raw [0, 255] pixels; it applies {text}"
    depth = config.get("depth")
    note = f" Spatial sizes must be multiples of {2 ** depth}." if isinstance(depth, int) else ""
    return f"## Input\n\nShape (height x width x channels): {size}.{note} Preprocessing: {text}.\n"


def _classes(metadata):
    names = metadata.get("class_names") or []
    if not names:
        return ""
    rows = "\n".join(f"| {index} | {name} |" for index, name in enumerate(names))
    return f"## Classes\n\n| index | name |\n|---|---|\n{rows}\n"


def _metrics(metadata):
    metrics = metadata.get("metrics") or {}
    if not metrics:
        return "## Metrics\n\nNo metrics were recorded for this checkpoint.\n"
    where = f" on {metadata['dataset']}" if metadata.get("dataset") else ""
    rows = "\n".join(f"| {name} | {float(value):.4f} |" for name, value in metrics.items())
    return f"## Metrics\n\nMeasured{where}:\n\n| metric | value |\n|---|---|\n{rows}\n"

"""`segzoo export`: a checkpoint as a file other runtimes read, through Keras' model.export."""

from pathlib import Path

from segzoo.cli.common import add_model_argument, command, load_model
from segzoo.export import EXPORT_FORMATS, FORMAT_ALIASES, check_export_format, export_model


def add_export(commands):
    parser = command(commands, "export", run_export,
                     "Export a model with Keras' model.export: a TensorFlow SavedModel, ONNX, OpenVINO IR "
                     "or LiteRT (TFLite) file.")
    add_model_argument(parser)
    parser.add_argument("--format", required=True, choices=(*EXPORT_FORMATS, *FORMAT_ALIASES),
                        help="savedmodel and tflite are other names of tf_saved_model and litert")
    parser.add_argument("--out", type=Path, metavar="PATH",
                        help="default: <model name>-savedmodel, .onnx, .xml (OpenVINO; with a .bin beside it) "
                        "or .tflite")
    parser.add_argument("--include-preprocessing", action="store_true",
                        help="put the backbone's input convention inside the exported model, so that it "
                        "takes raw [0, 255] pixels (default: as the checkpoint was saved)")


def run_export(args):
    name = check_export_format(args.format)  # a missing converter before the model loads
    model = load_model(args)
    out = args.out or Path(Path(args.model.rstrip("/")).name + EXPORT_FORMATS[name])
    print(export_model(model, out, name, include_preprocessing=args.include_preprocessing or None))

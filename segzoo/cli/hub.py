"""`segzoo pull` and `segzoo hub manifest`: checkpoints in."""

import sys

from segzoo.cli.common import command
from segzoo.hub import download_checkpoint, load_manifest, zoo_root
from segzoo.hub import manifest as hub_manifest
from segzoo.hub.checkpoint import CARD_FILE, REQUIRED_FILES

REPO_FILES = (*REQUIRED_FILES, CARD_FILE)  # what `pull org/name` fetches


def add_pull(commands):
    parser = command(commands, "pull", run_pull,
                     "Fetch a checkpoint (every file, sha256-checked) and print its folder: a zoo name "
                     "bundled with segzoo is checked in place, anything else is downloaded into the hub cache.")
    parser.add_argument("name", metavar="NAME", help="a zoo name (segzoo list --pretrained) or a repo id org/name")
    parser.add_argument("--revision", help="with a repo id: a branch, tag or commit")
    parser.add_argument("--cache-dir", metavar="DIR", help="default: huggingface_hub's cache (HF_HUB_CACHE)")
    parser.add_argument("--force", action="store_true",
                        help="download from the hub even if cached or bundled with segzoo")


def run_pull(args):
    entries = load_manifest()
    files = REPO_FILES
    if args.name in entries:
        files = (*REQUIRED_FILES, *sorted(set(entries[args.name]["files"]) - set(REQUIRED_FILES)))
    folder = download_checkpoint(args.name, revision=args.revision, files=files,
                                 cache_dir=args.cache_dir, force_download=args.force)
    if zoo_root() is not None and folder.parent == zoo_root():
        print(f"{args.name} is bundled with segzoo: every file matches the manifest, nothing was "
              "downloaded (--force downloads it from the hub).", file=sys.stderr)
    print(folder)


def add_hub(commands):
    hub = command(commands, "hub", None, "Maintain the weights manifest.")
    hub_commands = hub.add_subparsers(dest="hub_command", required=True, metavar="COMMAND")
    parser = command(hub_commands, "manifest", run_hub_manifest,
                     "Add (or replace) a named checkpoint in the weights manifest from its folder "
                     "(python -m segzoo.hub.manifest).")
    parser.add_argument("name")
    parser.add_argument("folder", help="the folder save_pretrained wrote and push_to_hub uploaded")
    parser.add_argument("repo_id")
    parser.add_argument("revision", help="the 40-hex commit hash push_to_hub returned")
    parser.add_argument("--manifest", help="default: $SEGZOO_MANIFEST or segzoo's own")


def run_hub_manifest(args):
    argv = [args.name, args.folder, args.repo_id, args.revision]
    hub_manifest.main(argv + (["--manifest", args.manifest] if args.manifest else []))

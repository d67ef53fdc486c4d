"""The rules of the package layout (docs/architecture.md), checked on the source:
modules stay small, private modules and names stay inside their package, and nothing
inside segzoo reaches for the package root's namespace."""

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MAX_LINES = 400


def _modules(folder):
    """(dotted name, path, is a package __init__) of every .py file under ROOT/folder."""
    for path in sorted((ROOT / folder).rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        package = parts[-1] == "__init__"
        if package:
            parts.pop()
        yield ".".join(parts), path, package


def _is_module(dotted):
    path = ROOT.joinpath(*dotted.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def _private(name):
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _imports(module, path, package):
    """(line, imported module, imported name or None) for every import in the file,
    relative ones resolved, those inside functions included."""
    here = module if package else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name, None
        elif isinstance(node, ast.ImportFrom):
            base = here.rsplit(".", node.level - 1)[0] if node.level else ""
            target = ".".join(part for part in (base, node.module) if part)
            for alias in node.names:
                yield node.lineno, target, alias.name


def _owner_of_private(target, name):
    """The package a private import belongs to, or None when the import is public.
    `a.b._c` belongs to `a.b`; a private name `_x` of module `a.b.c` (or a private
    submodule `_x` of package `a.b`) belongs to the package holding it."""
    parts = target.split(".")
    for index, part in enumerate(parts):
        if _private(part):
            return ".".join(parts[:index])
    if name is not None and _private(name):
        return target if _is_module(f"{target}.{name}") or (ROOT.joinpath(*parts) / "__init__.py").is_file() \
            else target.rpartition(".")[0]
    return None


def _within(package, owner):
    return package == owner or package.startswith(owner + ".")


def test_no_module_over_the_line_limit():
    long = {
        str(path.relative_to(ROOT)): count
        for _, path, _ in _modules("segzoo")
        if (count := len(path.read_text().splitlines())) > MAX_LINES
    }
    assert not long, f"modules over {MAX_LINES} lines: {long}"


@pytest.mark.parametrize("folder", ["segzoo", "benchmarks", "examples"])
def test_private_modules_and_names_stay_in_their_package(folder):
    crossing = []
    for module, path, package in _modules(folder):
        importer = module if package else module.rpartition(".")[0]
        for line, target, name in _imports(module, path, package):
            if not target.startswith("segzoo"):
                continue
            owner = _owner_of_private(target, name)
            if owner is not None and not _within(importer, owner):
                crossing.append(f"{path.relative_to(ROOT)}:{line} imports {target}{'.' + name if name else ''}")
    assert not crossing, "private imports from another package:\n" + "\n".join(crossing)


def test_nothing_inside_segzoo_uses_the_package_root():
    """`import segzoo` or `from segzoo import build` inside the package ties a module to
    everything the root imports (and to import order); submodules are imported directly."""
    uses = []
    for module, path, package in _modules("segzoo"):
        if module == "segzoo":
            continue
        for line, target, name in _imports(module, path, package):
            bare_root = target == "segzoo" and name is None
            root_name = target == "segzoo" and name is not None and not _is_module(f"segzoo.{name}")
            if bare_root or root_name:
                uses.append(f"{path.relative_to(ROOT)}:{line} imports {'segzoo.' + name if name else 'segzoo'}")
    assert not uses, "modules using the package root:\n" + "\n".join(uses)


# The checker itself, on small made-up cases: each rule must be able to fail.
@pytest.mark.parametrize(
    "target, name, owner",
    [
        ("segzoo.losses._stats", "prepare", "segzoo.losses"),
        ("segzoo.losses", "_stats", "segzoo.losses"),
        ("segzoo.data.folders", "_check_labels", "segzoo.data"),
        ("segzoo._names", "did_you_mean", "segzoo"),
        ("segzoo.losses", "Dice", None),
        ("segzoo.core.labels", "check_labels", None),
    ],
)
def test_owner_of_a_private_import(target, name, owner):
    assert _owner_of_private(target, name) == owner


def test_the_rules_catch_a_crossing(tmp_path, monkeypatch):
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    (tmp_path / "segzoo" / "losses").mkdir(parents=True)
    (tmp_path / "segzoo" / "__init__.py").write_text("")
    (tmp_path / "segzoo" / "losses" / "__init__.py").write_text("")
    (tmp_path / "segzoo" / "losses" / "_stats.py").write_text("")
    (tmp_path / "segzoo" / "metrics.py").write_text(
        "import segzoo\nfrom segzoo.losses._stats import prepare\n" + "x = 1\n" * MAX_LINES
    )
    with pytest.raises(AssertionError, match=r"segzoo/metrics.py:2 imports segzoo.losses._stats.prepare"):
        test_private_modules_and_names_stay_in_their_package("segzoo")
    with pytest.raises(AssertionError, match=r"segzoo/metrics.py:1 imports segzoo\n"):
        test_nothing_inside_segzoo_uses_the_package_root()
    with pytest.raises(AssertionError, match=r"segzoo/metrics.py': 402"):
        test_no_module_over_the_line_limit()

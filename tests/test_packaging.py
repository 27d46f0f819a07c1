"""What the package imports is what pyproject.toml declares, and rendering's ffmpeg loads only to render."""

import ast
import importlib.metadata
import re
import subprocess
import sys

import tomllib
from conftest import ROOT

SOURCE = ROOT / "src" / "audio2motion"


def requirement_names(requirements: list[str]) -> set[str]:
    return {re.split(r"[<>=!~\[ ;]", r, maxsplit=1)[0].lower().replace("_", "-") for r in requirements}


def imported_top_levels() -> set[str]:
    """Every top-level module an `import` or `from` names in src/audio2motion, lazy imports included."""
    names = set()
    for path in SOURCE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names.add(node.module.split(".")[0])
    return names


def test_every_imported_package_is_declared():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = requirement_names(project["dependencies"])
    for extra in ("export", "cluster"):  # imported only where that extra's feature runs
        declared |= requirement_names(project["optional-dependencies"][extra])
    distributions = importlib.metadata.packages_distributions()
    undeclared = {}
    for name in imported_top_levels() - set(sys.stdlib_module_names) - {"audio2motion"}:
        owners = {d.lower().replace("_", "-") for d in distributions.get(name, [name])}
        if not owners & declared:
            undeclared[name] = sorted(owners)
    assert not undeclared, f"imported but not in pyproject.toml: {undeclared}"


def test_training_and_inference_do_not_load_ffmpeg():
    code = (
        "import sys\n"
        "import audio2motion.cli.train, audio2motion.cli.infer, audio2motion.cli.evaluate\n"
        "import audio2motion.training.media, audio2motion.inference.batch\n"
        "print(sorted(m for m in sys.modules if m.startswith('imageio')))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"

"""Command-line entry points, each a Hydra app over the configs shipped as `audio2motion.conf`:
pyproject.toml installs them as `audio2motion-train`, `-infer`, `-evaluate`, `-view`, `-export` and
`-preprocess`, and train.py and scripts/*.py call the same functions in a checkout."""

import re

# conf/ at the top of the repository, installed as this package (see pyproject.toml).
CONFIG_PATH = "pkg://audio2motion.conf"


def with_switches(argv: list[str], *names: str) -> list[str]:
    """The command line with `NAME=true|false` for each settings node NAME (`render`, `viewer`) as
    `NAME.enabled=...`: Hydra cannot set a node of settings to a boolean."""
    switch = re.compile(rf"({'|'.join(names)})=(true|false)", re.IGNORECASE)
    return [f"{m[1]}.enabled={m[2]}" if (m := switch.fullmatch(arg)) else arg for arg in argv]

"""Command-line entry points, each a Hydra app over the configs shipped as `audio2motion.conf`:
pyproject.toml installs them as `audio2motion-train`, `-infer`, `-evaluate`, `-view`, `-export` and
`-preprocess`, and train.py and scripts/*.py call the same functions in a checkout."""

# conf/ at the top of the repository, installed as this package (see pyproject.toml).
CONFIG_PATH = "pkg://audio2motion.conf"

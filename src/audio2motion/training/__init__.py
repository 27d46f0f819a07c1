"""Lightning glue: the training module and the function that `train.py` runs."""

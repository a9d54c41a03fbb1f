"""Training data and the training script of the task-type classifier (`make train-classifier`).

Nothing here runs in the router: `corpus` builds labelled conversations from hand-written fragments,
templates and examples (`handwritten.jsonl`), and `train` fits scikit-learn on them and writes the
weights that `routerapp.optimizer.detect` loads. Every word of the data was written for this
project; no public benchmark or evaluation set was used, copied or consulted (see README).
"""

"""Optimizers and learning-rate schedules in PyTorch's names (being filled in; see issue #4)."""

"""Evaluation tasks built from ../shared/data, used by ``medcite eval`` and bench/."""

"""The models' explicit constants (L, M, R and the variance split) that specialise the generic theorems.

docs/theory.md, "Models".
"""

"""The generic theorems, each derived by :mod:`theory.descent` (docs/theory.md, "The theorems")."""

"""The back half shared by the CLI's batched runs and the tracker: which theorem covers
a run, the observed side, the assumption rows, the variants, and the Result."""

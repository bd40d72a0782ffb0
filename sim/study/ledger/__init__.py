"""The claims ledger: every figure of the design document judged, or the reason it is not."""

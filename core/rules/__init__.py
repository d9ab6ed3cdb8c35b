"""Rules decide: pure judgement over measured values (thresholds, checks, sentences); no database."""

"""What every other package leans on and that leans on nothing of ours: small records, redaction of
secrets, logging, the exceptions a task raises, scratch folders and dotted-path lookups."""

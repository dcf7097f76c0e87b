"""What a running task reaches: its context (identity, folders, secrets), its checkpoint and its decks."""

"""What sdx keeps on disk between runs: the conversation history (SQLite)."""

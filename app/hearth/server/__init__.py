"""``hearth serve``: an OpenAI-compatible API in front of Hearth (answers grounded in the
index with their sources, embeddings, search), bound to loopback by default."""

"""The MiniRAG-style index: chunks and entities in one graph, beside dense and keyword search."""

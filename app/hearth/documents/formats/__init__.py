"""One reader per document format; hearth.documents.loaders chooses among them."""

"""Reading files: loaders per format, text decoding, chunking that keeps pages."""

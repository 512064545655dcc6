"""What models exist: the GGUF catalogue, their metadata, RAM estimates, the bundled default."""

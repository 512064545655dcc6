"""Function-calling tools: the registry, JSON schemas and grammars, the built-in tools."""

"""Running a model: the engine host process, its client, prompt formats and grammars."""

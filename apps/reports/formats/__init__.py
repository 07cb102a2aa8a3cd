"""Machine-readable renderings of a card document: JSON, CHAI XML and a Hugging Face README."""

"""Test support: a local server answering in the Anthropic Messages API format (a fake,
scripted model) and the default script used to record cassettes and run the benchmark."""

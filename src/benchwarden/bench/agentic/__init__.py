"""Agentic coding: exercises worked on in a sandboxed workspace by a model in a loop."""

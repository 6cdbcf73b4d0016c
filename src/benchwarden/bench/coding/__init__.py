"""Coding: problems, code extraction, and running programs against their tests."""

"""Unit tests of the workflows/ package."""

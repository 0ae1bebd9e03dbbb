"""Trained SR models that ship with srhw, and the code that trains them (torch, optional)."""

"""Workflow ids of a programme and its child workflows, built in one place.

A programme runs as ``programme-…``; it starts a ``support-…`` workflow per participant and
one ``meeting-…`` workflow. Whoever talks to them from outside (portal, CLI, operators) finds
them by these ids (through :mod:`grantflow.client`).
"""

from __future__ import annotations


def programme_workflow_id(programme_id: str) -> str:
    """The programme's workflow: one per programme (and edition, which is part of its id)."""
    return f"programme-{programme_id}"


def support_workflow_id(programme_id: str, reference: str) -> str:
    """The process support workflow of one participant, e.g. ``support-INT2020-INT2020-0007``."""
    return f"support-{programme_id}-{reference}"


def meeting_workflow_id(programme_id: str) -> str:
    """The closing network meeting workflow of a programme."""
    return f"meeting-{programme_id}"

"""Workflow ids of a programme's child workflows, built in one place.

The programme starts a ``support-…`` workflow per participant and one ``meeting-…`` workflow;
whoever talks to them from outside (portal, CLI, operators) finds them by these ids.
"""

from __future__ import annotations


def support_workflow_id(programme_id: str, reference: str) -> str:
    """The process support workflow of one participant, e.g. ``support-INT2020-INT2020-0007``."""
    return f"support-{programme_id}-{reference}"


def meeting_workflow_id(programme_id: str) -> str:
    """The closing network meeting workflow of a programme."""
    return f"meeting-{programme_id}"

"""The phases of a programme, one module each, composed into ``ProgrammeWorkflow``.

Each module holds one phase's steps, its updates and their validators, its emails, its
deadlines and how ``details`` describes it: ``intake`` (publication and applications),
``formal_check``, ``jury``, ``decision`` (decision and acceptance) and ``accompaniment``
(process support, network meeting, close-out). ``core`` holds what they share.
"""

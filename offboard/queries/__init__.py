"""Read models: what the CLI, the API and the console show, as typed values.

Each query checks the reader's permission (SPEC §3.2) like an action does, and reads in one
connection; nothing here changes state. The dataclasses are also the API's response models.
"""

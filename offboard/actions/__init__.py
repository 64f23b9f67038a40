"""The service layer: every state change of every entry point goes through these actions.

Each action checks (permissions, rules), changes (set-based SQL), and records its audit
event in the same transaction; side effects run only after commit.
"""

"""Pure domain core: vocabulary, rules, policies and errors.

Nothing here imports a framework or a database driver (tests/unit/test_domain_purity.py).
"""

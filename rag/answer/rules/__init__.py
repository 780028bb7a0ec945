"""The English question rules: replaceable policy, each used by one step of the answer chain."""

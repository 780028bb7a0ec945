"""From passages to a checked, cited answer: the chain, context assembly, prompts, shapes, rules, citations."""

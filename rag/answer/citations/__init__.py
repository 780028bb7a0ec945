"""The citation checker's parts, composed by `rag.answer.citations.stream.CitationStream`:

- `lexer`: the model's text → sentences with the markers it wrote and their offsets (no policy);
- `attribution`: which passages each sentence is cited to;
- `grounding`: how well the cited passages support each sentence;
- `quotes`: the span of a cited passage that carries the sentence(s) citing it.
"""

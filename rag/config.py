"""The one settings object. Read once at the edge (CLI, app) and passed in everywhere else."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class RelevanceWeights(BaseModel):
    """The relevance formula the rerank and the context assembly share, one weight per term: `lexical` × the
    share of the question's content words in a sentence + `rank` × 1/√(1 + first-stage rank) + `dense` × the
    dense similarity to the question. Each use has its own weights, and its own defaults."""

    model_config = ConfigDict(extra="forbid")

    lexical: float = Field(ge=0.0, description="Weight of the share of the question's content words in the sentence.")
    rank: float = Field(ge=0.0, description="Weight of 1/sqrt(1 + first-stage rank).")
    dense: float = Field(ge=0.0, description="Weight of the dense similarity to the question.")


class RerankWeights(RelevanceWeights):
    """A candidate chunk's score in the rerank (rag/retrieval/rerank.py): its best-matching sentence, its first-stage
    rank and its dense similarity."""

    lexical: float = Field(1.0, ge=0.0, description="Weight of the share of the question's content words in the "
                           "candidate's best-matching sentence.")
    rank: float = Field(0.6, ge=0.0, description="Weight of 1/sqrt(1 + the candidate's first-stage rank).")
    dense: float = Field(1.0, ge=0.0, description="Weight of the candidate's dense similarity to the question.")


class ContextWeights(RelevanceWeights):
    """A sentence's score in the context assembly (rag/answer/context.py): the sentence itself, the rank of the chunk
    it came from and the sentence's own dense similarity."""

    lexical: float = Field(1.0, ge=0.0, description="Weight of the share of the question's content words in the "
                           "sentence.")
    rank: float = Field(0.3, ge=0.0, description="Weight of 1/sqrt(1 + first-stage rank of the sentence's chunk).")
    dense: float = Field(1.0, ge=0.0, description="Weight of the sentence's own dense similarity to the question.")


class RetrievalSettings(BaseModel):
    """What is retrieved for a question, and when retrieval alone refuses it. `RAG_RETRIEVAL__<FIELD>`."""

    model_config = ConfigDict(extra="forbid")

    mode: Literal["dense", "bm25", "hybrid"] = Field(
        "hybrid", description="dense (embeddings), bm25 (keywords) or hybrid (both, reciprocal rank fusion).")
    rerank: bool = Field(True, description="Re-rank the first `depth` candidates by their best-matching sentence.")
    top_k: int = Field(4, ge=1, le=50, description="Chunks retrieved for an answer; their best sentences are "
                       "kept up to answer.context_tokens (measured: "
                       "benchmarks/reports/2026-12-07-corpora-ablation.md#retrievaltop_k-4).")
    min_score: float = Field(0.05, description="Below this best dense similarity the question is refused unasked.")
    min_coverage: float = Field(0.11, ge=0.0, le=1.0, description="Below this share of the question's idf "
                                "weight found in the retrieved chunks, the question is refused unasked; "
                                "0 turns it off (measured: benchmarks/reports/2026-12-07-settings.md#min_coverage).")
    second_hop: bool = Field(True, description="Retrieve again with the names the first passages gave when "
                             "they do not hold the answer (bridge questions), and once per option of a "
                             "choice question.")
    depth: int = Field(20, ge=1, description="Candidates each first-stage list gives the hybrid fusion, and the "
                       "rerank re-scores (measured: benchmarks/reports/2026-12-07-settings.md#depth).")
    rrf_k: int = Field(5, ge=0, description="The k of reciprocal rank fusion: a list's rank r adds 1/(k + r) "
                       "(measured: benchmarks/reports/2026-12-07-settings.md#rrf_k).")
    rerank_weights: RerankWeights = Field(default_factory=RerankWeights,
                                          description="The rerank's weights of the relevance formula "
                                          "(measured: benchmarks/reports/2026-12-07-settings.md#rerank_weights).")
    context_weights: ContextWeights = Field(default_factory=ContextWeights,
                                            description="The context assembly's weights of the relevance "
                                            "formula: which sentences of the retrieved chunks the model reads "
                                            "(measured: benchmarks/reports/2026-12-07-settings.md#context_weights).")


class AnswerSettings(BaseModel):
    """How the passages become an answer, and when it is refused. `RAG_ANSWER__<FIELD>`."""

    model_config = ConfigDict(extra="forbid")

    max_question_chars: int = Field(2000, ge=1, description="Longer questions are refused (400) before any "
                                    "work.")
    prompts_dir: Path | None = Field(None, description="A folder of prompt templates to use instead of the "
                                     "packaged ones (rag/prompts/).")
    context_tokens: int = Field(150, ge=32, description="Token budget of the passages in the prompt (the "
                                "model's context caps it too). The main cost of an answer on a CPU "
                                "(measured: benchmarks/reports/2026-12-07-settings.md#context_tokens).")
    context_tokens_long: int = Field(250, ge=32, description="Token budget of the passages for the longer "
                                     "answer shapes (yes/no, comparison, list, why/how, multi-part), for a "
                                     "second retrieval hop and for a factoid that describes what it asks "
                                     "about (bridge_context) (measured: "
                                     "benchmarks/reports/2026-12-07-settings.md#context_tokens_long).")
    context_tokens_by_shape: dict[str, Annotated[int, Field(ge=32)]] = Field(
        {}, description="The passages' token budget for these question shapes, in place of context_tokens or "
        "context_tokens_long (a second hop keeps the larger) "
        "(measured: benchmarks/reports/2026-12-07-settings.md#context_tokens_by_shape).")
    check: bool = Field(True, description="Before answering, ask the model whether the passages state the "
                        "answer (one token, on the answer prompt's cached prefix), when a step that reads it runs "
                        "for the question's shape (bridge_hop, missing_name_hop, pre_answer_refusal).")
    check_min: float = Field(0.35, ge=0.0, le=1.0, description="Below this probability that the passages state "
                             "the answer, a second retrieval hop is tried, then the question is refused "
                             "(measured: benchmarks/reports/2026-12-07-settings.md#check_min).")
    check_min_by_shape: dict[str, float] = Field({}, description=(
        "The check's refusal threshold for these shapes when higher than check_min, after any second hop "
        "(which check_min still triggers); other shapes use check_min "
        "(measured: benchmarks/reports/2026-12-07-settings.md#check_min_by_shape)."))
    max_sentences_by_shape: dict[str, Annotated[int, Field(ge=1)]] = Field(
        {"why": 2}, description="The answer of these shapes ends after this many supported sentences, or 3 "
        "sentences in all (the model is stopped there) "
        "(measured: benchmarks/reports/2026-12-07-settings.md#max_sentences_by_shape).")
    verify: bool = Field(False, description="After the answer, ask the model whether the passages state this "
                         "answer to the question (a few tokens on the answer prompt's cached prefix); the answer "
                         "is refused below verify_min_by_shape "
                         "(measured: benchmarks/reports/2026-12-07-settings.md#verify).")
    verify_min_by_shape: dict[str, float] = Field({"list": 0.3}, description="The verification's refusal threshold per "
                                                  "question shape; a shape not named is never refused by it "
                                                  "(measured: "
                                                  "benchmarks/reports/2026-12-07-settings.md#verify_min_by_shape).")
    missing_terms_check_max: float = Field(0.55, ge=0.0, le=1.0, description="A question whose names or "
                                           "numbers the retrieved passages never mention is refused when the "
                                           "check is below this "
                                           "(measured: "
                                           "benchmarks/reports/2026-12-07-settings.md#missing_terms_check_max).")
    missing_name_hop_shapes: list[str] = Field(["yesno", "comparison", "multipart"], description="The shapes "
                                               "whose missing names get a retrieval hop of their own (the "
                                               "other half of a comparison); for the others a name the "
                                               "passages never mention stays missing "
                                               "(measured: "
                                               "benchmarks/reports/2026-12-07-settings.md#missing_name_hop_shapes).")
    unstated_terms_shapes: list[str] = Field(["factoid"], description="Answers of these shapes are refused when "
                                             "the passages they cite never state one of the question's names or "
                                             "numbers (not counting questions that describe something by a "
                                             "clause, whose first fact lives in another passage) "
                                             "(measured: "
                                             "benchmarks/reports/2026-12-07-settings.md#unstated_terms_shapes).")
    unstated_paragraph: bool = Field(True, description="A question's name or number counts as stated when the "
                                     "document paragraph holding a cited passage states it, not only the passage "
                                     "(measured: benchmarks/reports/2026-12-07-settings.md#unstated_paragraph).")
    unstated_bridges: bool = Field(False, description="A question's name or number also counts as stated when "
                                   "a retrieved passage outside the context, from another document, states it and "
                                   "names a cited document by its title (a multi-hop question's first fact).")
    bridge_context: bool = Field(True, description="A factoid question that describes what it asks about by a "
                                 "clause (\"the mountain after which Kenya is named\") needs the passage about the "
                                 "described thing and the one about what is asked: it gets a second hop's budget "
                                 "(context_tokens_long, or a larger context_tokens_by_shape entry) "
                                 "(measured: benchmarks/reports/2026-12-07-settings.md#bridge_context).")
    bridge_reask: bool = Field(True, description="When a factoid answer is the thing the question only "
                               "describes (\"the mountain after which Kenya is named\" answered \"Mount Kenya\"), "
                               "retrieve again with it and ask again with it named (rag/answer/rules/bridge.py; "
                               "measured: benchmarks/reports/2026-12-07-settings.md#bridge_reask).")
    bridge_min_overlap: float = Field(0.4, ge=0.0, le=1.0, description="Share of the content words from a "
                                      "description to the question's end that a passage sentence naming the "
                                      "answer must hold for the answer to count as the described thing "
                                      "(set before the tune run, not swept: "
                                      "benchmarks/reports/2026-12-07-settings.md#bridge_min_overlap).")
    verdict_rules: bool = Field(True, description="Decide a yes/no question from the sentence of the passages "
                                "that settles it (a different name, number, order or year is a no) and quote "
                                "that sentence as the cited fact; the model decides only what the text does not "
                                "(measured: benchmarks/reports/2026-12-07-settings.md#verdict_rules).")
    verdict_min_overlap: float = Field(0.3, ge=0.0, le=1.0, description="The deciding sentence must hold this "
                                       "share of the question's words; below it the model writes the answer "
                                       "(measured: benchmarks/reports/2026-12-07-settings.md#verdict_min_overlap).")
    verdict_yes_min: float = Field(0.35, ge=0.0, le=1.0, description="When the text does not settle a yes/no "
                                   "question, the model's P(yes) at or above this is a yes "
                                   "(measured: benchmarks/reports/2026-12-07-settings.md#verdict_yes_min).")
    verdict_substitution_overlap: float = Field(0.55, ge=0.0, le=1.0, description="A name or number in place "
                                                "of the question's counts as a no only in a sentence holding "
                                                "this share of the question's words.")
    history_turns: int = Field(3, ge=0, description="Previous exchanges used to rewrite a follow-up.")
    history_tokens: int = Field(1024, ge=0, description="Token budget of a request's history (tiktoken "
                                "cl100k_base): the oldest turns are dropped, and the oldest kept one cut, to fit it; "
                                "a question that with it cannot fit llm.n_ctx is refused (400).")
    condense_max_tokens: int = Field(64, ge=1, description="Token limit of a follow-up's rewrite (set by "
                                     "hand: benchmarks/reports/2026-12-07-settings.md#condense_max_tokens).")
    condense_temperature: float = Field(0.0, ge=0.0, le=2.0, description="Sampling temperature of the rewrite.")
    reserved_tokens: int = Field(300, ge=0, description="Tokens of the model's context kept for the system "
                                 "prompt, the question and the template: the passages get at most n_ctx - "
                                 "max_tokens - this (set by hand, not measured).")
    holdback_chars: int = Field(13, ge=0, description="The reply's opening is held back until this many "
                                "characters (or a sentence end) have come, to tell a refusal (\"I don't know\") "
                                "from an answer before any text is streamed "
                                "(measured: benchmarks/reports/2026-12-07-settings.md#holdback_chars).")
    support_min: float = Field(0.5, ge=0.0, le=1.0, description="An answer sentence is supported when the "
                               "passages it cites hold this share of its own words (those the question did not "
                               "supply); an answer with no supported sentence is refused (unsupported) "
                               "(set by hand: benchmarks/reports/2026-12-07-settings.md#support_min).")
    restated_support_min: float = Field(0.3, ge=0.0, le=1.0, description="The same for a yes/no or choice "
                                        "verdict that restates the question, whose names and numbers must all "
                                        "be in the cited passages.")
    support_shapes: list[Literal["factoid", "yesno", "comparison", "list", "why", "multipart"]] = Field(
        ["factoid", "comparison", "list", "why", "multipart"], description="Answers of these shapes are "
        "refused (unsupported) when no sentence is supported by the passages it cites. An answer of another "
        "shape stands on the passages the model read: each sentence is cited to the passage holding most of "
        "its words, and to those naming what the cited ones do not. A \"No\" rests on what the passages leave "
        "out, which no share of words can support: yes/no answers stand (measured: benchmarks/reports/"
        "2026-12-07-corpora-ablation.md#yesno-answers-stand-on-the-passages-read).")
    attribute_min: float = Field(0.5, ge=0.0, le=1.0, description="A sentence without a valid marker is cited "
                                 "to the passage holding the largest share of its words, if at least this.")
    miscited_max: float = Field(0.2, ge=0.0, le=1.0, description="A marker whose passage holds at most this "
                                "share of the sentence's words is moved to the best passage (if that one holds "
                                "attribute_min).")
    escalate_on: list[Literal["unsupported", "model"]] = Field(["unsupported"], description="An answer about "
                                                               "to be refused for these reasons is written once "
                                                               "more from the first escalate_passages retrieved "
                                                               "chunks, whole, with a plain prompt; [] never "
                                                               "(measured: benchmarks/reports/2026-12-07-"
                                                               "corpora-ablation.md).")
    escalate_passages: int = Field(4, ge=1, le=20, description="Chunks, whole, of an answer written again "
                                   "(the simple baseline's top-k; set before measuring, not swept).")
    step_shapes: dict[str, list[Literal["factoid", "yesno", "comparison", "list", "why", "multipart"]]] = Field(
        {"yes_or_no": ["comparison"]}, description="The question shapes a step runs for, by step name; a "
        "step not named runs for every shape it concerns. yes_or_no is kept to choice questions: there it "
        "helps 2Wiki on two tune samples and changes nothing elsewhere; on yes/no questions it hurts BoolQ "
        "(measured: benchmarks/reports/2026-12-07-corpora-ablation.md#yes_or_no-kept-to-choice-questions).")
    steps: list[str] = Field(["escalate", "unstated_terms", "yes_or_no"],
                             description="The answer steps that run, by name (rag/answer/steps/), each for the "
                             "shapes step_shapes gives it; the others (bridge_hop, missing_name_hop, "
                             "unchosen_options, pre_answer_refusal, bridge_reask, verify) are off: each helped no "
                             "corpus it was not made on, or hurt one "
                             "(measured: benchmarks/reports/2026-12-07-corpora-ablation.md).")
    skip_steps: list[str] = Field([], description="Answer steps to leave out of `steps`, by name (for ablations): "
                                  "bridge_hop, missing_name_hop, unchosen_options, pre_answer_refusal, yes_or_no, "
                                  "bridge_reask, escalate, unstated_terms, verify (rag/answer/steps/). An unknown "
                                  "name is an error when the answer chain is built.")


def env_name(path: str) -> str:
    """The environment variable of a dotted setting: "answer.check_min" -> RAG_ANSWER__CHECK_MIN."""
    return "RAG_" + path.replace(".", "__").upper()


class StoreSettings(BaseModel):
    """Where chunks, the BM25 index and the records live. `RAG_STORE__<FIELD>`."""

    model_config = ConfigDict(extra="forbid")

    persist_dir: Path = Field(Path("vectorstore"), description="Embedded Chroma store directory (and the BM25 "
                              "index, kept files and conversations).")
    collection: str = Field("documents", pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{1,510}[A-Za-z0-9]$",
                            description="Chroma collection name: 3-512 of A-Z a-z 0-9 . _ -, starting and "
                            "ending with a letter or digit.")
    chroma_host: str | None = Field(None, description="A Chroma server (`chroma run`) instead of the embedded "
                                    "store; persist_dir then only holds the BM25 index cache.")
    chroma_port: int = Field(8000, ge=1, le=65535, description="The Chroma server's port.")
    chroma_ssl: bool = Field(False, description="Reach the Chroma server over HTTPS.")
    lock_timeout: float = Field(10.0, gt=0, description="Seconds to wait for a store another process holds "
                                "locked before giving up with a clear error.")
    write_wait: float = Field(60.0, gt=0, description="Seconds a write waits for another writer of the same "
                              "collection (a thread, or a process sharing the store or Chroma server) before "
                              "giving up with a clear error.")
    write_lock_ttl: float = Field(120.0, gt=0, description="Seconds after which a collection's write lock whose "
                                  "holder never released it (its process was killed) counts as abandoned.")
    seeds_dir: Path = Field(PROJECT_ROOT / "seeds", description="Documents ingested when the store is empty.")
    upsert_batch: int = Field(1000, ge=1, description="Chunks per write to Chroma.")
    bm25_merge_min: int = Field(2000, ge=0, description="The BM25 delta (added chunks plus tombstones) is "
                                "merged into the main segment once it exceeds this many chunks ... "
                                "(measured: benchmarks/reports/2026-12-07-settings.md#bm25_merge_min)")
    bm25_merge_ratio: float = Field(0.1, ge=0.0, description="... or this share of the main segment, whichever "
                                    "is larger: a merge rewrites the whole index, so it comes once per that "
                                    "much change.")


class IngestSettings(BaseModel):
    """How files become chunks. `RAG_INGEST__<FIELD>`."""

    model_config = ConfigDict(extra="forbid")

    chunk_size: int = Field(192, ge=16, le=2048, description="Chunk length in tiktoken cl100k_base tokens "
                            "(measured: benchmarks/reports/2026-12-07-settings.md#chunk_size).")
    chunk_overlap: int = Field(32, ge=0, le=512, description="Tokens shared by neighbouring chunks.")
    max_file_mb: float = Field(50.0, gt=0, description="Files larger than this are refused at ingest.")
    max_inflated_mb: float = Field(200.0, gt=0, description="A Word, PowerPoint or Excel file (a zip) whose parts "
                                   "inflate to more than this, by its zip directory, is refused before it is "
                                   "opened.")
    max_inflate_ratio: float = Field(100.0, gt=1, description="... as is one whose parts inflate past 10 MB and "
                                     "to more than this many times their compressed size (a zip bomb).")
    max_elements: int = Field(500_000, ge=1, description="A file holding more than this many XML elements "
                              "(Word, PowerPoint), table cells counted by the columns they span, rows x columns "
                              "(Excel, CSV; whatever a sheet's dimension claims) or PDF pages is refused.")
    max_seconds: float = Field(300.0, gt=0, description="Reading one file (parsing, OCR) taking longer than this "
                               "is stopped and the file refused.")
    max_page_pixels: int = Field(10_000_000, ge=10_000, description="Pixels of a PDF page rendered for the page "
                                 "viewer or OCR (300 dpi A4 is 8.7 million): a larger page is rendered at a "
                                 "lower resolution.")


class EmbedSettings(BaseModel):
    """The embedding model. `RAG_EMBED__<FIELD>`."""

    model_config = ConfigDict(extra="forbid")

    backend: Literal["local", "openai", "hash"] = Field(
        "local", description="local: the packaged sentence-transformers model; openai: an OpenAI-compatible "
        "server; hash: hashed word counts, no model (fast tests only; rag/backends/fakes.py).")
    model: str = Field("", description="Local: a sentence-transformers folder (default: the packaged "
                       "all-MiniLM-L6-v2). OpenAI: a model name such as text-embedding-3-small.")
    batch_size: int = Field(32, ge=1, description="Texts embedded per batch.")
    precision: Literal["auto", "float32", "bfloat16"] = Field(
        "auto", description="Local embedder arithmetic. auto: bfloat16 (torch autocast) on CPUs with AMX, "
        "float32 elsewhere (measured: benchmarks/reports/2026-12-07-settings.md#precision).")
    numpy_max_texts: int = Field(
        64, ge=0, description="Local embedder: queries, and batches of at most this many texts while "
        "sentence-transformers is not loaded, run through the numpy encoder (the same vectors; a cold `rag ask` "
        "skips torch's 5 s import). 0: sentence-transformers for everything "
        "(measured: benchmarks/reports/2026-12-07-numpy-embedder.md).")


class LLMSettings(BaseModel):
    """The language model and how it is run. `RAG_LLM__<FIELD>`."""

    model_config = ConfigDict(extra="forbid")

    backend: Literal["llamacpp", "openai", "scripted"] = Field(
        "llamacpp", description="llamacpp: the packaged GGUF in-process; openai: an OpenAI-compatible server; "
        "scripted: copies a passage sentence, no model (fast tests only; rag/backends/fakes.py).")
    preset: Literal["qwen2.5-coder-1.5b", "qwen2.5-coder-0.5b"] = Field(
        "qwen2.5-coder-1.5b", description="The packaged model llama.cpp runs.")
    model_path: Path | None = Field(None, description="Any GGUF file; overrides the preset.")
    model: str = Field("gpt-4o-mini", description="Model name for the OpenAI-compatible backend.")
    cache_dir: Path = Field(Path.home() / ".cache" / "rag-chat" / "models",
                            description="Where the packaged model is assembled from its PyPI parts.")
    n_ctx: int = Field(4096, ge=512, description="The model's context, in tokens.")
    n_threads: int | None = Field(None, description="llama.cpp threads; default: all cores.")
    flash_attn: bool = Field(True, description="llama.cpp flash attention "
                            "(measured: benchmarks/reports/2026-12-07-settings.md#flash_attn).")
    repack: bool | None = Field(None, description=(
        "llama.cpp's repacked CPU weight layouts (use_extra_bufts). Default: off on an AVX-512 build, on "
        "otherwise (measured: benchmarks/reports/2026-12-07-settings.md#repack)."))
    lookup_tokens: int = Field(3, ge=0, le=32, description=(
        "Prompt-lookup decoding at temperature 0: how many tokens copied from the prompt the model checks in "
        "one pass (0: off). The text is the same greedy text, written sooner "
        "(measured: benchmarks/reports/2026-12-07-settings.md#lookup_tokens)."))
    prefix_cache: bool = Field(True, description=(
        "Keep the evaluated shared prompt prefix (system prompt and the answer template's start) on disk under "
        "cache_dir/prefix-states, keyed by model file, llama.cpp build and prompt tokens, so a new process "
        "(`rag ask`, a restarted server) restores it instead of reading it again."))
    saved_prompts: int = Field(4, ge=0, le=64, description=(
        "Evaluated prompts kept in memory when another request's prompt pushes them out of the one llama.cpp "
        "context, and put back when their request continues (overlapping answers keep their cached prefix); "
        "each costs about 28 KB per token of RAM with the 1.5B model. 0: off."))
    max_tokens: int = Field(256, ge=1, le=4096, description="Token limit of an answer.")
    temperature: float = Field(0.0, ge=0.0, le=2.0, description="Sampling temperature of an answer.")
    openai_api_key: str = Field("", description="Also read from OPENAI_API_KEY when empty.")
    openai_base_url: str | None = Field(None, description="An OpenAI-compatible server (vLLM, Ollama, "
                                        "llama.cpp server); empty: OpenAI.")
    openai_stream: bool = Field(True, description="Stream tokens from the server (false: one request, one reply).")
    openai_timeout: float = Field(120.0, gt=0, description="Seconds before a silent LLM server is an error.")


class ServerSettings(BaseModel):
    """The chat page and HTTP API. `RAG_SERVER__<FIELD>`."""

    model_config = ConfigDict(extra="forbid")

    host: str = Field("127.0.0.1", description="Address `rag serve` binds.")
    port: int = Field(7860, ge=1, le=65535, description="Port `rag serve` binds.")
    shutdown_grace: float = Field(3.0, ge=0, description="Seconds requests still running get after SIGTERM or "
                                  "SIGINT before they are cut off (open chat pages are let go at once).")
    api_token: str | None = Field(None, description="When set, /v1 routes and the UI require it (bearer).")
    allow_no_token: bool = Field(False, description="Serve on a host other than loopback without api_token "
                                 "(`rag serve --insecure-no-token`); refused otherwise, so that a server is never "
                                 "open to the network by mistake.")
    max_json_kb: int = Field(1024, ge=1, description="Bytes a JSON request to /v1 may carry, in KiB: larger "
                             "ones are refused (413) before they are read whole.")
    max_upload_mb: float | None = Field(None, gt=0, description="Bytes one upload request (all its files and "
                                        "the multipart framing) may carry, in MB; default: twice "
                                        "ingest.max_file_mb. Larger ones are refused (413) as they arrive.")
    max_upload_files: int = Field(20, ge=1, le=100, description="Files one upload request may carry (413 "
                                  "past it).")
    max_waiting: int = Field(8, ge=1, description="Answers (/v1/answer, /v1/chat/completions) in progress or "
                             "waiting for the model; past it a request gets 429 with Retry-After.")
    rate_per_minute: float = Field(30.0, ge=0, description="Answers one client (IP address) may ask per "
                                   "minute, on average (a token bucket; 0: no limit); past it, 429 with "
                                   "Retry-After.")
    rate_burst: int = Field(10, ge=1, description="Answers one client may ask at once before rate_per_minute "
                            "applies (the bucket's size).")
    auth_failures: int = Field(10, ge=1, description="Wrong tokens or passwords one client may send within "
                               "auth_window seconds; past it every attempt gets 429 with Retry-After until the "
                               "window has passed.")
    auth_window: float = Field(300.0, gt=0, description="Seconds over which auth_failures are counted.")


class StateSettings(BaseModel):
    """Users, conversations, feedback and the audit trail: one SQL database that several servers can share.
    `RAG_STATE__<FIELD>`; the URL also as `RAG_DATABASE_URL`."""

    model_config = ConfigDict(extra="forbid")

    database_url: str = Field("", description="A SQLAlchemy URL: sqlite:///path or "
                              "postgresql+psycopg://user:pass@host/db. Empty: SQLite in store.persist_dir "
                              "(state.sqlite3). Several `rag serve` processes share state through PostgreSQL.")
    audit_retention_days: float = Field(0.0, ge=0, description="Days an answer's audit record (and its "
                                        "feedback) is kept; 0 keeps them until a user's records are erased.")

    def url(self, persist_dir: Path) -> str:
        return self.database_url or f"sqlite:///{Path(persist_dir).resolve() / 'state.sqlite3'}"


class LogSettings(BaseModel):
    """One line per answer and per ingest, on stderr (rag/logs.py). `RAG_LOG__<FIELD>`."""

    model_config = ConfigDict(extra="forbid")

    level: str = Field("INFO", description="DEBUG, INFO, WARNING, ERROR or CRITICAL, for the `rag` loggers "
                       "(WARNING keeps only ingests that skipped files and refused uploads).")
    format: Literal["text", "json"] = Field("text", description="text: key=value pairs; json: one JSON "
                                            "object per line.")

    @field_validator("level")
    @classmethod
    def _level_name(cls, value: str) -> str:
        name = value.strip().upper()
        if name not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
            raise ValueError(f"{value!r} is not a log level: DEBUG, INFO, WARNING, ERROR or CRITICAL")
        return name


class Settings(BaseSettings):
    """Every setting, in sections; `RAG_<SECTION>__<FIELD>` in the environment or `.env`."""

    model_config = SettingsConfigDict(env_prefix="RAG_", env_nested_delimiter="__", env_file=".env",
                                      extra="ignore")

    store: StoreSettings = Field(default_factory=StoreSettings, description="Where chunks, the BM25 index and "
                                 "the records live.")
    ingest: IngestSettings = Field(default_factory=IngestSettings, description="How files become chunks.")
    embed: EmbedSettings = Field(default_factory=EmbedSettings, description="The embedding model.")
    llm: LLMSettings = Field(default_factory=LLMSettings, description="The language model and how it is run.")
    retrieval: RetrievalSettings = Field(default_factory=RetrievalSettings, description="What is retrieved for a "
                                         "question, and when retrieval alone refuses it.")
    answer: AnswerSettings = Field(default_factory=AnswerSettings, description="How the passages become an "
                                   "answer, and when it is refused.")
    server: ServerSettings = Field(default_factory=ServerSettings, description="The chat page and HTTP API.")
    state: StateSettings = Field(default_factory=StateSettings, description="Users, conversations, feedback and "
                                 "the audit trail (SQL).")
    log: LogSettings = Field(default_factory=LogSettings, description="One line per answer and per ingest, on "
                             "stderr.")

    @model_validator(mode="after")
    def _database_url(self) -> Settings:
        """`RAG_DATABASE_URL`, the name deployments and the PostgreSQL half of the tests set, when the
        section's own `RAG_STATE__DATABASE_URL` is not."""
        if not self.state.database_url and os.environ.get("RAG_DATABASE_URL"):
            self.state.database_url = os.environ["RAG_DATABASE_URL"]
        return self


def overridden(settings: Settings, overrides: Mapping[str, object]) -> Settings:
    """A copy of `settings` with each dotted path ("answer.check_min", "retrieval.mode", "api_token") set and
    validated as an environment string would be ("0.4" becomes a float). The environment is not read again:
    `rag eval --set` and `Components.with_settings` vary a setting while every other stays as it was read."""
    data = settings.model_dump()
    for path, value in overrides.items():
        node, (*parents, leaf) = data, path.split(".")
        for part in parents:
            node = node.get(part)
            if not isinstance(node, dict):
                break
        if not isinstance(node, dict) or leaf not in node:
            raise ValueError(f"unknown setting {path!r}")
        if isinstance(node[leaf], dict | list) and isinstance(value, str):
            value = json.loads(value)  # as pydantic-settings reads a complex setting from the environment
        node[leaf] = value
    return type(settings).model_validate(data)

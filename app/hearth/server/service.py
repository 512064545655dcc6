"""HearthService: what ``hearth serve`` does for each request, without the HTTP.

One Workspace (the engine, the index, the catalogue) behind two work queues: generation on
the one engine, one request at a time; embeddings and searches on their own index
connection, so a search never waits behind an answer. Answers come from the assistant's
own code: answer_turn (the window's and the CLI's turn) for documents,
the engine's chat stream for plain chat, and the tool loop's decide step for the OpenAI
``tools`` a client brings (which the client runs, as OpenAI's API has it).
"""

from __future__ import annotations

import base64
import json
import logging
import threading
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from typing import TYPE_CHECKING, Any

import jsonschema

from hearth.assistant.chat import TurnRequest, answer_options, answer_turn
from hearth.assistant.streaming import stream_reply
from hearth.assistant.tool_loop import ANSWER, ToolRunner
from hearth.engine.prompts import ChatMessage
from hearth.engine.types import SamplingOptions
from hearth.jobs import CancelToken, ProgressCallback
from hearth.models.catalogue import ModelInfo, UnknownModel
from hearth.server.errors import ApiError
from hearth.server.schemas import (
    MAX_EMBEDDING_INPUTS,
    ChatCompletionRequest,
    EmbeddingsRequest,
    MessageIn,
    ToolChoiceIn,
)
from hearth.server.work_queue import WorkQueue
from hearth.tools.registry import Tool, ToolContext, ToolError, ToolRegistry

if TYPE_CHECKING:
    from hearth.assistant.workspace import Workspace
    from hearth.engine.protocol import Engine
    from hearth.index.document_index import DocumentIndex

log = logging.getLogger(__name__)

# A model id that answers from the documents with the active model.
DOCUMENTS_MODEL = "hearth-documents"
EMBEDDING_MODEL = "all-minilm-l6-v2"
EMBEDDING_DIMENSIONS = 384
MAX_EMBEDDING_CHARS = 2_000_000
MAX_SEARCH_RESULTS = 50


@dataclass
class ChatPlan:
    """A checked chat request: which model, what it reads, how it may answer."""

    request: ChatCompletionRequest
    model: ModelInfo
    model_name: str
    messages: list[ChatMessage]
    question: str
    history: list[ChatMessage]
    documents: bool
    document_names: list[str]
    hearth_tools: bool
    # The client's tools, when the model may call one now; "required" forbids answering.
    client_tools: ToolRegistry | None = None
    tool_call_required: bool = False


@dataclass
class ChatOutcome:
    text: str
    finish_reason: str
    prompt_tokens: int
    completion_tokens: int
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    # Sources, citations and Hearth's own tool calls of a grounded answer.
    hearth: dict[str, Any] | None = None


def message_text(message: MessageIn, position: int) -> str:
    if message.content is None:
        return ""
    if isinstance(message.content, str):
        return message.content
    texts: list[str] = []
    for part in message.content:
        if part.get("type") != "text" or not isinstance(part.get("text"), str):
            raise ApiError(
                400,
                f"messages[{position}]: only text content is supported, not {part.get('type')!r}",
                param=f"messages.{position}.content",
            )
        texts.append(part["text"])
    return "\n".join(texts)


def chat_messages(messages: list[MessageIn]) -> list[ChatMessage]:
    """OpenAI messages as the engine takes them. An assistant's tool calls become the
    <tool_call> lines Qwen-style templates read; a tool's result is a "tool" turn."""
    converted: list[ChatMessage] = []
    for position, message in enumerate(messages):
        text = message_text(message, position)
        if message.role == "assistant" and message.tool_calls:
            calls = []
            for call in message.tool_calls:
                function = call.get("function") or {}
                try:
                    arguments = json.loads(function.get("arguments") or "{}")
                except (TypeError, ValueError):
                    arguments = function.get("arguments")
                payload = json.dumps({"name": function.get("name"), "arguments": arguments})
                calls.append(f"<tool_call>\n{payload}\n</tool_call>")
            text = "\n".join([text, *calls]).strip()
        if message.role in ("system", "developer"):
            converted.append({"role": "system", "content": text})
        elif message.role in ("tool", "function"):
            converted.append({"role": "tool", "content": text})
        elif message.role == "assistant":
            converted.append({"role": "assistant", "content": text})
        else:
            converted.append({"role": "user", "content": text})
    return converted


def _client_tool(name: str, description: str, parameters: dict[str, Any]) -> Tool:
    def never_run(arguments: dict[str, Any], context: ToolContext) -> str:
        raise ToolError("the client runs its own tools")

    return Tool(name, description, parameters, never_run)


class RequiredToolRunner(ToolRunner):
    """The tool loop's decide step with "answer" left out (tool_choice "required" or one
    named function)."""

    def candidates(self, question: str) -> list[str]:
        return self.registry.names


class _ModelStopper:
    """The cancel hook of one request: stops the engine only while that request runs, so a
    late cancel can never stop the next request's answer."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._lock = threading.Lock()
        self._active = True

    def __call__(self) -> None:
        with self._lock:
            if self._active:
                self._engine.cancel()

    def finish(self) -> None:
        with self._lock:
            self._active = False


class HearthService:
    def __init__(self, workspace: Workspace, lookup_index: DocumentIndex, max_waiting: int) -> None:
        """``lookup_index``: a second connection to the workspace's index, for searches."""
        self.workspace = workspace
        self.lookup_index = lookup_index
        self.engine_queue = WorkQueue("engine", max_waiting)
        self.lookup_queue = WorkQueue("index", max_waiting)
        self._catalogue_lock = threading.Lock()

    def start(self, progress: ProgressCallback | None = None) -> ModelInfo:
        """The default model loaded and the index open, before the first request."""
        model = self.workspace.ensure_model_loaded(progress)
        self.workspace.index.documents()
        self.lookup_index.documents()
        return model

    def close(self) -> None:
        self.engine_queue.shutdown()
        self.lookup_queue.shutdown()
        self.lookup_index.close()
        self.workspace.close()

    # -- models -----------------------------------------------------------------------------
    def models(self) -> list[dict[str, Any]]:
        with self._catalogue_lock:
            catalogue = self.workspace.catalogue
            models = catalogue.list()
            default = catalogue.default().id if models else None
        n_ctx = self.workspace.settings.n_ctx
        listed = [
            {
                "id": model.id,
                "object": "model",
                "created": int(model.path.stat().st_mtime),
                "owned_by": "hearth",
                "hearth": {k: v for k, v in model.to_json(n_ctx).items() if k != "path"},
            }
            for model in models
        ]
        listed.append(
            {
                "id": DOCUMENTS_MODEL,
                "object": "model",
                "created": 0,
                "owned_by": "hearth",
                "hearth": {"documents": True, "model": self._active_id() or default},
            }
        )
        listed.append(
            {
                "id": EMBEDDING_MODEL,
                "object": "model",
                "created": 0,
                "owned_by": "hearth",
                "hearth": {"embedding_dimensions": EMBEDDING_DIMENSIONS},
            }
        )
        return listed

    def _active_id(self) -> str | None:
        active = self.workspace.active_model
        return active.id if active is not None else None

    def _resolve_model(self, name: str) -> ModelInfo:
        with self._catalogue_lock:
            active = self.workspace.active_model
            if not name or name == DOCUMENTS_MODEL:
                return active or self.workspace.catalogue.default()
            if active is not None and active.id == name:
                return active
            try:
                return self.workspace.catalogue.get(name)
            except UnknownModel:
                raise ApiError(
                    404,
                    f"the model '{name}' does not exist (GET /v1/models lists them)",
                    code="model_not_found",
                    param="model",
                ) from None

    # -- chat -------------------------------------------------------------------------------
    def plan_chat(self, request: ChatCompletionRequest) -> ChatPlan:
        """Check a chat request before it waits for the engine: 4xx for what is wrong."""
        model = self._resolve_model(request.model)
        messages = chat_messages(request.messages)
        options = request.hearth
        wanted = options.documents if options is not None else False
        documents = request.model == DOCUMENTS_MODEL or bool(wanted)
        names = list(wanted) if isinstance(wanted, list) else []
        last_user = next(
            (i for i in reversed(range(len(messages))) if messages[i]["role"] == "user"), None
        )
        if last_user is None:
            raise ApiError(400, "messages: there is no user message to answer", param="messages")
        question = messages[last_user]["content"]
        if documents and not question.strip():
            raise ApiError(400, "messages: the last user message is empty", param="messages")
        history: list[ChatMessage] = [
            m for m in messages[:last_user] if m["role"] in ("user", "assistant")
        ]
        hearth_tools = (
            options.tools
            if options is not None and options.tools is not None
            else self.workspace.settings.tools_enabled
        )
        plan = ChatPlan(
            request=request,
            model=model,
            model_name=request.model or model.id,
            messages=messages,
            question=question,
            history=history,
            documents=documents,
            document_names=names,
            hearth_tools=hearth_tools,
        )
        # After the client's tool results (a last "tool" turn), the model answers from them.
        wants_tools = request.tools and request.tool_choice != "none" and not documents
        if wants_tools and messages[-1]["role"] == "user":
            plan.client_tools, plan.tool_call_required = self._client_tools(request)
        return plan

    @staticmethod
    def _client_tools(request: ChatCompletionRequest) -> tuple[ToolRegistry, bool]:
        tools = request.tools or []
        for number, tool in enumerate(tools):
            try:
                jsonschema.Draft202012Validator.check_schema(tool.function.parameters)
            except jsonschema.SchemaError as error:
                raise ApiError(
                    400,
                    f"tools[{number}].function.parameters is not a JSON schema: {error.message}",
                    param=f"tools.{number}.function.parameters",
                ) from None
        choice = request.tool_choice
        if isinstance(choice, ToolChoiceIn):
            tools = [tool for tool in tools if tool.function.name == choice.function.name]
            if not tools:
                raise ApiError(
                    400,
                    f"tool_choice names '{choice.function.name}', which is not among the tools",
                    param="tool_choice",
                )
        registry = ToolRegistry(
            [
                _client_tool(t.function.name, t.function.description, t.function.parameters)
                for t in tools
            ]
        )
        return registry, choice == "required" or isinstance(choice, ToolChoiceIn)

    def options(self, plan: ChatPlan) -> SamplingOptions:
        request = plan.request
        base = answer_options(
            self.workspace.settings, request.max_completion_tokens or request.max_tokens
        )
        stop = [request.stop] if isinstance(request.stop, str) else list(request.stop or [])
        return replace(
            base,
            temperature=base.temperature if request.temperature is None else request.temperature,
            top_p=base.top_p if request.top_p is None else request.top_p,
            stop=[*base.stop, *stop],
            seed=base.seed if request.seed is None else request.seed,
        )

    def answer(
        self, plan: ChatPlan, on_piece: Callable[[str], None], token: CancelToken
    ) -> ChatOutcome:
        """Run in the engine's turn: the chosen model loaded, then the answer streamed
        through ``on_piece``. Raises Cancelled when ``token`` is cancelled."""
        workspace = self.workspace
        active = workspace.active_model
        if active is None or active.id != plan.model.id:
            workspace.load_model(plan.model)
        engine = workspace.engine
        stopper = _ModelStopper(engine)
        token.on_cancel(stopper)
        try:
            if plan.documents:
                return self._grounded(plan, on_piece, token)
            if plan.client_tools is not None:
                called = self._client_tool_call(plan, engine, token)
                if called is not None:
                    return called
            return self._chat(plan, engine, on_piece, token)
        finally:
            stopper.finish()

    def _chat(
        self, plan: ChatPlan, engine: Engine, on_piece: Callable[[str], None], token: CancelToken
    ) -> ChatOutcome:
        n_ctx = engine.status().n_ctx
        prompt_tokens = engine.count_chat_tokens(plan.messages)
        if prompt_tokens >= n_ctx:
            raise ApiError(
                400,
                f"the messages take {prompt_tokens} tokens; the model's context holds {n_ctx}",
                code="context_length_exceeded",
                param="messages",
            )
        reply = stream_reply(
            engine, plan.messages, self.options(plan), "answering", token, on_piece=on_piece
        )
        result = reply.result
        return ChatOutcome(
            reply.text,
            result.finish_reason if result.finish_reason == "length" else "stop",
            result.prompt_tokens,
            result.completion_tokens,
        )

    def _grounded(
        self, plan: ChatPlan, on_piece: Callable[[str], None], token: CancelToken
    ) -> ChatOutcome:
        from hearth.tools.builtin import resolve_document

        workspace = self.workspace
        paths: list[str] = []
        for name in plan.document_names:
            try:
                paths.append(resolve_document(workspace.index, name))
            except ToolError as error:
                raise ApiError(
                    400, f"hearth.documents: {error}", param="hearth.documents"
                ) from None
        turn = answer_turn(
            workspace,
            TurnRequest(
                plan.question,
                plan.history,
                documents=paths or None,
                tools=plan.hearth_tools,
                options=self.options(plan),
            ),
            on_piece,
            should_cancel=token,
        )
        return ChatOutcome(
            turn.text,
            "length" if turn.cut else "stop",
            turn.prompt_tokens,
            turn.completion_tokens,
            hearth={
                "sources": [source.to_json() for source in turn.sources],
                "cited": turn.cited,
                "tool_calls": turn.tool_calls,
                "finish_reason": turn.finish_reason,
                "unsupported": turn.unsupported,
            },
        )

    def _client_tool_call(
        self, plan: ChatPlan, engine: Engine, token: CancelToken
    ) -> ChatOutcome | None:
        """The model's call of one of the client's tools, decided and filled under grammars
        by the tool loop; None when it answers in words instead (or its call does not
        validate: then it answers, rather than hand the client an invalid call)."""
        registry = plan.client_tools
        assert registry is not None
        runner_type = RequiredToolRunner if plan.tool_call_required else ToolRunner
        name, arguments = runner_type(engine, registry).decide(plan.question)
        token.check("choosing a tool")
        if name == ANSWER:
            return None
        problem = registry.validation_error(name, arguments)
        if problem is not None:
            log.info(
                "the model's call of %s did not validate (%s); answering instead", name, problem
            )
            return None
        arguments_json = json.dumps(arguments, ensure_ascii=False)
        call = {
            "id": f"call_{uuid.uuid4().hex[:24]}",
            "type": "function",
            "function": {"name": name, "arguments": arguments_json},
        }
        return ChatOutcome(
            "",
            "tool_calls",
            engine.count_chat_tokens(plan.messages),
            engine.count_tokens(arguments_json),
            tool_calls=[call],
        )

    # -- the index --------------------------------------------------------------------------
    def embed(self, request: EmbeddingsRequest) -> dict[str, Any]:
        if request.model and request.model != EMBEDDING_MODEL:
            raise ApiError(
                404,
                f"the embedding model '{request.model}' does not exist (use {EMBEDDING_MODEL})",
                code="model_not_found",
                param="model",
            )
        texts = [request.input] if isinstance(request.input, str) else list(request.input)
        if not texts or len(texts) > MAX_EMBEDDING_INPUTS:
            raise ApiError(
                400,
                f"input: give 1 to {MAX_EMBEDDING_INPUTS} texts, not {len(texts)}",
                param="input",
            )
        if any(not text for text in texts):
            raise ApiError(400, "input: a text to embed is empty", param="input")
        if sum(len(text) for text in texts) > MAX_EMBEDDING_CHARS:
            raise ApiError(400, f"input: more than {MAX_EMBEDDING_CHARS} characters", param="input")
        vectors = self.lookup_index.embedder.embed(texts)
        data = [
            {
                "object": "embedding",
                "index": number,
                "embedding": (
                    base64.b64encode(vector.astype("<f4").tobytes()).decode("ascii")
                    if request.encoding_format == "base64"
                    else [float(x) for x in vector]
                ),
            }
            for number, vector in enumerate(vectors)
        ]
        # MiniLM's word pieces are not counted: usage stays 0.
        usage = {"prompt_tokens": 0, "total_tokens": 0}
        return {"object": "list", "data": data, "model": EMBEDDING_MODEL, "usage": usage}

    def search(self, query: str, k: int, documents: list[str]) -> dict[str, Any]:
        from hearth.tools.builtin import resolve_document

        if not query.strip():
            raise ApiError(400, "q: give the text to search for", param="q")
        if not 1 <= k <= MAX_SEARCH_RESULTS:
            raise ApiError(400, f"k must be between 1 and {MAX_SEARCH_RESULTS}", param="k")
        paths: list[str] = []
        for name in documents:
            try:
                paths.append(resolve_document(self.lookup_index, name))
            except ToolError as error:
                raise ApiError(400, f"document: {error}", param="document") from None
        hits = self.lookup_index.search(query, k=k, documents=paths or None)
        return {
            "object": "list",
            "query": query,
            "data": [{"n": n, **hit.to_json()} for n, hit in enumerate(hits, start=1)],
        }

    def status(self) -> dict[str, Any]:
        engine = self.workspace.engine
        return {
            "object": "hearth.status",
            "model": self._active_id(),
            "engine": engine.system_info,
            "documents": len(self.lookup_index.documents()),
            "engine_queue": asdict(self.engine_queue.counts()),
            "index_queue": asdict(self.lookup_queue.counts()),
        }

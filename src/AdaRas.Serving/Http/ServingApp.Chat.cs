using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using AdaRas.Serving.Execution;
using AdaRas.Serving.Steering;
using Microsoft.AspNetCore.Http;

namespace AdaRas.Serving.Http;

public sealed partial class ServingApp
{
    /// <summary>A parsed chat request, ready to run.</summary>
    sealed record ChatCall(ServingJob Job, CommonRequest Common);

    ChatCall ParseChat(JsonElement root)
    {
        var common = new CommonRequest();
        List<ChatTurn>? turns = null;
        bool thinking = true;
        foreach (var p in root.EnumerateObject())
        {
            if (common.Read(p, _host)) continue;
            switch (p.Name)
            {
                case "messages": turns = ParseMessages(p.Value); break;
                case "chat_template_kwargs" when p.Value.ValueKind == JsonValueKind.Object:
                    if (p.Value.TryGetProperty("enable_thinking", out var t)) thinking = Json.Bool(t, "chat_template_kwargs.enable_thinking");
                    break;
                case "logprobs" when p.Value.ValueKind == JsonValueKind.True:
                    throw RequestException.Invalid("logprobs are served by /v1/completions (echo and logprobs), not by chat", "logprobs");
            }
        }
        if (turns is null) throw RequestException.Invalid("messages is required", "messages");
        var prompt = _host.Encode(ChatPrompt.Render(turns, thinking), "messages");
        var steering = (common.Steering ?? _host.DefaultSteering) is { } requested ? _host.Steering.Resolve(requested) : null;
        var job = new ServingJob(prompt, common.Parameters(defaultMaxTokens: 256))
        {
            SplitThinking = true,
            Stop = common.Stop,
            Steering = steering,
            GateQuestion = turns[^1].Content,
        };
        return new ChatCall(job, common);
    }

    static List<ChatTurn> ParseMessages(JsonElement v)
    {
        if (v.ValueKind != JsonValueKind.Array) throw RequestException.Invalid("messages must be an array", "messages");
        var turns = new List<ChatTurn>();
        int i = 0;
        foreach (var m in v.EnumerateArray())
        {
            string at = $"messages[{i++}]";
            if (m.ValueKind != JsonValueKind.Object) throw RequestException.Invalid($"{at} must be an object", at);
            if (!m.TryGetProperty("role", out var role)) throw RequestException.Invalid($"{at}.role is required", $"{at}.role");
            string content = "";
            if (m.TryGetProperty("content", out var c) && !Json.IsNull(c))
            {
                if (c.ValueKind == JsonValueKind.String) content = c.GetString()!;
                else if (c.ValueKind == JsonValueKind.Array)
                {
                    var text = new StringBuilder();
                    int j = 0;
                    foreach (var part in c.EnumerateArray())
                    {
                        string pat = $"{at}.content[{j++}]";
                        if (part.ValueKind != JsonValueKind.Object || !part.TryGetProperty("type", out var type) || type.ValueKind != JsonValueKind.String)
                            throw RequestException.Invalid($"{pat} must be an object with a type", pat);
                        if (type.GetString() != "text") throw RequestException.Invalid($"{pat}: only text parts are supported, got '{type.GetString()}'", pat);
                        text.Append(Json.String(part.TryGetProperty("text", out var tx) ? tx : default, $"{pat}.text"));
                    }
                    content = text.ToString();
                }
                else throw RequestException.Invalid($"{at}.content must be a string or an array of text parts", $"{at}.content");
            }
            turns.Add(new ChatTurn(Json.String(role, $"{at}.role"), content));
        }
        return turns;
    }

    async Task ChatCompletions(HttpContext ctx)
    {
        ChatCall call;
        using (var doc = await ReadJson(ctx).ConfigureAwait(false)) call = ParseChat(doc.RootElement);
        var response = new OpenAiResponse(_host.ModelId, chat: true, Received(ctx));
        if (call.Common.Stream) { await StreamChat(ctx, call, response).ConfigureAwait(false); return; }

        var reasoning = new StringBuilder();
        var content = new StringBuilder();
        var outcome = await _host.Runner.RunAsync(call.Job, null, t => { reasoning.Append(t.Text.Reasoning); content.Append(t.Text.Content); },
            ctx.RequestAborted, runHere: true).ConfigureAwait(false);
        reasoning.Append(outcome.Tail.Reasoning);
        content.Append(outcome.Tail.Content);
        await WriteJson(ctx, response.Whole([new(0, w =>
        {
            w.WriteStartObject("message");
            w.WriteString("role", "assistant");
            w.WriteString("content", content.ToString());
            if (reasoning.Length > 0) w.WriteString("reasoning_content", reasoning.ToString());
            w.WriteEndObject();
            w.WriteNull("logprobs");
        }, outcome.FinishReason, outcome)])).ConfigureAwait(false);
    }

    async Task StreamChat(HttpContext ctx, ChatCall call, OpenAiResponse response)
    {
        var outcome = await Relay(ctx, call.Job,
            _ => Event(ctx, response.Chunk(new(0, w => Delta(w, default, role: true), null, null))),
            // one event per token, even when its text is held back or incomplete: clients see progress and can count
            t => Event(ctx, response.Chunk(new(0, w => Delta(w, t.Text, role: false), null, null)))).ConfigureAwait(false);
        if (outcome is null) return;
        await Event(ctx, response.Chunk(new(0, w => Delta(w, outcome.Tail, role: false), outcome.FinishReason, outcome))).ConfigureAwait(false);
        if (call.Common.IncludeUsage) await Event(ctx, response.UsageChunk(outcome.PromptTokens, outcome.CompletionTokens)).ConfigureAwait(false);
        await Done(ctx).ConfigureAwait(false);
    }

    static void Delta(Utf8JsonWriter w, TextDelta text, bool role)
    {
        w.WriteStartObject("delta");
        if (role) { w.WriteString("role", "assistant"); w.WriteString("content", ""); }
        if (text.Reasoning.Length > 0) w.WriteString("reasoning_content", text.Reasoning);
        if (text.Content.Length > 0) w.WriteString("content", text.Content);
        w.WriteEndObject();
        w.WriteNull("logprobs");
    }

    /// <summary>Started (steering decided) or a token, in order, from the batch's thread to the response.</summary>
    readonly record struct StreamItem(bool Started, SteeringOutcome? Steering, TokenOutput? Token);

    /// <summary>
    /// Runs a job and hands its start and each token to the response in order, on the request's side (the batch
    /// thread only queues them). Once the event stream has started, a failure travels as an error event, as OpenAI's
    /// API does mid-stream, and the result is null.
    /// </summary>
    async Task<GenerationOutcome?> Relay(HttpContext ctx, ServingJob job, Func<SteeringOutcome?, Task> started, Func<TokenOutput, Task> token)
    {
        var items = Channel.CreateUnbounded<StreamItem>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        var run = _host.Runner.RunAsync(job,
            o => items.Writer.TryWrite(new StreamItem(true, o, null)),
            t => items.Writer.TryWrite(new StreamItem(false, null, t)),
            ctx.RequestAborted);
        _ = run.ContinueWith(_ => items.Writer.TryComplete(), TaskScheduler.Default);
        await foreach (var item in items.Reader.ReadAllAsync().ConfigureAwait(false))
        {
            if (item.Started)
            {
                if (!ctx.Response.HasStarted) StartEventStream(ctx);
                await started(item.Steering).ConfigureAwait(false);
            }
            else await token(item.Token!).ConfigureAwait(false);
        }
        try
        {
            return await run.ConfigureAwait(false);
        }
        catch (Exception e) when (ctx.Response.HasStarted && e is not OperationCanceledException)
        {
            Console.Error.WriteLine($"[serve] stream failed: {e}");
            await Event(ctx, OpenAiWriter.Error($"internal error: {e.Message}", "server_error", null, null)).ConfigureAwait(false);
            return null;
        }
    }

    static Task WriteJson(HttpContext ctx, byte[] json)
    {
        ctx.Response.ContentType = "application/json";
        return ctx.Response.Body.WriteAsync(json, ctx.RequestAborted).AsTask();
    }

    static void StartEventStream(HttpContext ctx)
    {
        ctx.Response.StatusCode = 200;
        ctx.Response.ContentType = "text/event-stream";
        ctx.Response.Headers.CacheControl = "no-cache";
        ctx.Response.Headers["X-Accel-Buffering"] = "no";
    }

    static readonly byte[] DataPrefix = "data: "u8.ToArray(), EventEnd = "\n\n"u8.ToArray(), DoneEvent = "data: [DONE]\n\n"u8.ToArray();

    /// <summary>Writes one server-sent event and flushes it, so each token leaves as soon as it exists.</summary>
    static async Task Event(HttpContext ctx, byte[] json)
    {
        var buffer = new byte[DataPrefix.Length + json.Length + EventEnd.Length];
        DataPrefix.CopyTo(buffer, 0);
        json.CopyTo(buffer, DataPrefix.Length);
        EventEnd.CopyTo(buffer, DataPrefix.Length + json.Length);
        await ctx.Response.Body.WriteAsync(buffer, ctx.RequestAborted).ConfigureAwait(false);
        await ctx.Response.Body.FlushAsync(ctx.RequestAborted).ConfigureAwait(false);
    }

    static async Task Done(HttpContext ctx)
    {
        await ctx.Response.Body.WriteAsync(DoneEvent, ctx.RequestAborted).ConfigureAwait(false);
        await ctx.Response.Body.FlushAsync(ctx.RequestAborted).ConfigureAwait(false);
    }
}

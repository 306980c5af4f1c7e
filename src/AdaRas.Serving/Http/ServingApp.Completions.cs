using System.Text;
using System.Text.Json;
using AdaRas.Serving.Execution;
using Microsoft.AspNetCore.Http;

namespace AdaRas.Serving.Http;

public sealed partial class ServingApp
{
    const int MaxPromptsPerRequest = 256;
    const int MaxLogprobs = 20;

    /// <summary>A parsed completions request: one job per prompt.</summary>
    sealed record CompletionCall(List<(string Text, ServingJob Job)> Prompts, CommonRequest Common, bool Echo, int? Logprobs);

    CompletionCall ParseCompletion(JsonElement root)
    {
        var common = new CommonRequest();
        JsonElement? prompt = null;
        bool echo = false;
        int? logprobs = null;
        foreach (var p in root.EnumerateObject())
        {
            if (common.Read(p, _host)) continue;
            switch (p.Name)
            {
                case "prompt": prompt = p.Value; break;
                case "echo": if (!Json.IsNull(p.Value)) echo = Json.Bool(p.Value, "echo"); break;
                case "logprobs":
                    if (Json.IsNull(p.Value) || p.Value.ValueKind == JsonValueKind.False) break;
                    logprobs = p.Value.ValueKind == JsonValueKind.True ? 0 : Json.Int(p.Value, "logprobs");
                    if (logprobs is < 0 or > MaxLogprobs) throw RequestException.Invalid($"logprobs must be in 0..{MaxLogprobs}, got {logprobs}", "logprobs");
                    break;
            }
        }
        if (prompt is null) throw RequestException.Invalid("prompt is required", "prompt");
        if (common.Stream && logprobs is not null) throw RequestException.Invalid("logprobs with stream is not supported; ask without streaming", "logprobs");
        var steering = (common.Steering ?? _host.DefaultSteering) is { } requested ? _host.Steering.Resolve(requested) : null;
        var parameters = common.Parameters(defaultMaxTokens: 16);
        var prompts = new List<(string, ServingJob)>();
        foreach (var (text, ids) in Prompts(prompt.Value))
        {
            _host.CheckPromptLength(ids.Length, "prompt");
            prompts.Add((text, new ServingJob(ids, parameters)
            {
                Stop = common.Stop,
                Logprobs = logprobs,
                PromptLogprobs = echo && logprobs is not null,
                Steering = steering,
                GateQuestion = text,
            }));
        }
        return new CompletionCall(prompts, common, echo, logprobs);
    }

    /// <summary>A string, an array of strings, an array of token ids, or an array of such arrays.</summary>
    IEnumerable<(string Text, int[] Ids)> Prompts(JsonElement v)
    {
        var tokenizer = _host.Model.Tokenizer;
        if (v.ValueKind == JsonValueKind.String) return [(v.GetString()!, tokenizer.Encode(v.GetString()!))];
        if (v.ValueKind != JsonValueKind.Array || v.GetArrayLength() == 0)
            throw RequestException.Invalid("prompt must be a string, an array of strings, or token ids", "prompt");
        if (v.GetArrayLength() > MaxPromptsPerRequest)
            throw RequestException.Invalid($"prompt holds {v.GetArrayLength()} prompts; at most {MaxPromptsPerRequest} per request", "prompt");
        var first = v[0].ValueKind;
        if (first == JsonValueKind.Number) return [TokenPrompt(v, "prompt")];
        var list = new List<(string, int[])>();
        int i = 0;
        foreach (var e in v.EnumerateArray())
        {
            string at = $"prompt[{i++}]";
            if (e.ValueKind == JsonValueKind.String) list.Add((e.GetString()!, tokenizer.Encode(e.GetString()!)));
            else if (e.ValueKind == JsonValueKind.Array) list.Add(TokenPrompt(e, at));
            else throw RequestException.Invalid($"{at} must be a string or an array of token ids", at);
        }
        return list;
    }

    (string, int[]) TokenPrompt(JsonElement v, string at)
    {
        int vocab = _host.Model.Manifest.VocabSize;
        var ids = new int[v.GetArrayLength()];
        int i = 0;
        foreach (var e in v.EnumerateArray())
        {
            int id = Json.Int(e, $"{at}[{i}]");
            if (id < 0 || id >= vocab) throw RequestException.Invalid($"{at}[{i}] = {id} is not a token id (0..{vocab - 1})", at);
            ids[i++] = id;
        }
        return (_host.Model.Tokenizer.Decode(ids), ids);
    }

    async Task Completions(HttpContext ctx)
    {
        CompletionCall call;
        using (var doc = await ReadJson(ctx).ConfigureAwait(false)) call = ParseCompletion(doc.RootElement);
        var response = new OpenAiResponse(_host.ModelId, chat: false, Received(ctx));
        if (call.Common.Stream) { await StreamCompletions(ctx, call, response).ConfigureAwait(false); return; }

        var choices = new List<OpenAiResponse.Choice>();
        for (int i = 0; i < call.Prompts.Count; i++)
        {
            var (text, job) = call.Prompts[i];
            var generated = new StringBuilder();
            var tokenLogprobs = new List<TokenLogprob?>();
            var outcome = await _host.Runner.RunAsync(job, null, t => { generated.Append(t.Text.Content); tokenLogprobs.Add(t.Logprob); },
                ctx.RequestAborted, runHere: true).ConfigureAwait(false);
            generated.Append(outcome.Tail.Content);
            choices.Add(new(i, w =>
            {
                w.WriteString("text", call.Echo ? text + generated : generated.ToString());
                if (call.Logprobs is null) { w.WriteNull("logprobs"); return; }
                var tokenizer = _host.Model.Tokenizer;
                var entries = new List<TokenLogprob?>();
                var tokens = new List<string>();
                if (call.Echo)
                {
                    entries.AddRange(outcome.PromptLogprobs!);
                    tokens.AddRange(job.Prompt.Select(t => Logprobs.Text(tokenizer, t)));
                }
                entries.AddRange(tokenLogprobs);
                tokens.AddRange(tokenLogprobs.Select(t => t!.Token));
                OpenAiWriter.CompletionLogprobs(w, entries, tokens, 0);
            }, outcome.FinishReason, outcome));
        }
        await WriteJson(ctx, response.Whole(choices)).ConfigureAwait(false);
    }

    async Task StreamCompletions(HttpContext ctx, CompletionCall call, OpenAiResponse response)
    {
        int promptTokens = 0, completionTokens = 0;
        for (int i = 0; i < call.Prompts.Count; i++)
        {
            var (text, job) = call.Prompts[i];
            int index = i;
            var outcome = await Relay(ctx, job,
                _ => call.Echo ? Event(ctx, response.Chunk(new(index, w => Text(w, text), null, null))) : Task.CompletedTask,
                t => Event(ctx, response.Chunk(new(index, w => Text(w, t.Text.Content), null, null)))).ConfigureAwait(false);
            if (outcome is null) return;
            promptTokens += outcome.PromptTokens;
            completionTokens += outcome.CompletionTokens;
            await Event(ctx, response.Chunk(new(index, w => Text(w, outcome.Tail.Content), outcome.FinishReason, outcome))).ConfigureAwait(false);
        }
        if (call.Common.IncludeUsage) await Event(ctx, response.UsageChunk(promptTokens, completionTokens)).ConfigureAwait(false);
        await Done(ctx).ConfigureAwait(false);
    }

    static void Text(Utf8JsonWriter w, string text)
    {
        w.WriteString("text", text);
        w.WriteNull("logprobs");
    }
}

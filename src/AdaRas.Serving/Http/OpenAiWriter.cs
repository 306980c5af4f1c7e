using System.Text.Json;
using AdaRas.Serving.Execution;
using AdaRas.Serving.Steering;

namespace AdaRas.Serving.Http;

/// <summary>The OpenAI-shaped JSON the server writes: errors, usage, logprobs, steering outcomes.</summary>
static class OpenAiWriter
{
    /// <summary>JSON for HTTP bodies, not HTML: characters such as &lt; and ' stay as they are.</summary>
    public static readonly JsonWriterOptions Options = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static byte[] Error(string message, string type, string? param, string? code)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, OpenAiWriter.Options))
        {
            w.WriteStartObject();
            w.WriteStartObject("error");
            w.WriteString("message", message);
            w.WriteString("type", type);
            if (param is null) w.WriteNull("param"); else w.WriteString("param", param);
            if (code is null) w.WriteNull("code"); else w.WriteString("code", code);
            w.WriteEndObject();
            w.WriteEndObject();
        }
        return buffer.ToArray();
    }

    public static void Usage(Utf8JsonWriter w, int prompt, int completion)
    {
        w.WriteStartObject("usage");
        w.WriteNumber("prompt_tokens", prompt);
        w.WriteNumber("completion_tokens", completion);
        w.WriteNumber("total_tokens", prompt + completion);
        w.WriteEndObject();
    }

    /// <summary>What steering did: <c>{"pattern", "steered", "gate_probability", "gate_threshold", "settings"}</c>.</summary>
    public static void Steering(Utf8JsonWriter w, SteeringOutcome? outcome)
    {
        if (outcome is null) return;
        w.WriteStartObject("steering");
        w.WriteString("pattern", outcome.Pattern);
        w.WriteBoolean("steered", outcome.Steered);
        if (outcome.GateProbability is double p) w.WriteNumber("gate_probability", p); else w.WriteNull("gate_probability");
        if (outcome.GateThreshold is double t) w.WriteNumber("gate_threshold", t); else w.WriteNull("gate_threshold");
        w.WriteString("settings", outcome.Description);
        w.WriteEndObject();
    }

    /// <summary>
    /// How long generation took inside the server (llama.cpp's <c>timings</c>): prompt and decode time and tokens
    /// made, summed over the response's generations; and <c>server_ms</c>, the request's whole time in the server so
    /// far (from its arrival to this body being written), so <c>server_ms - prompt_ms - predicted_ms</c> is the
    /// server's own overhead: reading and parsing, queueing, handing over to the generation thread and back, and
    /// writing the response. (A client's request time minus generation adds its own HTTP stack and the loopback.)
    /// </summary>
    public static void Timings(Utf8JsonWriter w, IReadOnlyList<GenerationOutcome> outcomes, long received)
    {
        w.WriteStartObject("timings");
        w.WriteNumber("prompt_ms", outcomes.Sum(o => o.PrefillSeconds) * 1000);
        w.WriteNumber("predicted_ms", outcomes.Sum(o => o.DecodeSeconds) * 1000);
        w.WriteNumber("predicted_n", outcomes.Sum(o => o.CompletionTokens));
        w.WriteNumber("server_ms", System.Diagnostics.Stopwatch.GetElapsedTime(received).TotalMilliseconds);
        w.WriteEndObject();
    }

    /// <summary>The legacy completions logprobs object: tokens, token_logprobs, top_logprobs, text_offset.</summary>
    public static void CompletionLogprobs(Utf8JsonWriter w, IReadOnlyList<TokenLogprob?> entries, IReadOnlyList<string> tokens, int firstOffset)
    {
        w.WriteStartObject("logprobs");
        w.WriteStartArray("tokens");
        foreach (var t in tokens) w.WriteStringValue(t);
        w.WriteEndArray();
        w.WriteStartArray("token_logprobs");
        foreach (var e in entries) { if (e is null) w.WriteNullValue(); else w.WriteNumberValue(e.Logprob); }
        w.WriteEndArray();
        w.WriteStartArray("top_logprobs");
        foreach (var e in entries)
        {
            if (e is null) { w.WriteNullValue(); continue; }
            w.WriteStartObject();
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var (token, lp) in e.Top)
                if (seen.Add(token)) w.WriteNumber(token, lp);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteStartArray("text_offset");
        int offset = firstOffset;
        foreach (var t in tokens) { w.WriteNumberValue(offset); offset += t.Length; }
        w.WriteEndArray();
        w.WriteEndObject();
    }
}

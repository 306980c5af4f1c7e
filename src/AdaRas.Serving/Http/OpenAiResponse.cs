using System.Text.Json;
using AdaRas.Serving.Execution;

namespace AdaRas.Serving.Http;

/// <summary>
/// The one response builder of both endpoints: the envelope (id, object, created, model), the choices, usage, what
/// steering did and the generation's timings, as a whole body or as stream chunks. Chat has one generation, so its
/// steering and timings sit beside the choices; completions may have several prompts, so steering is per choice.
/// </summary>
/// <param name="received">When the server received the request (<see cref="System.Diagnostics.Stopwatch.GetTimestamp"/>): timings.server_ms counts from it.</param>
sealed class OpenAiResponse(string model, bool chat, long received)
{
    public string Id { get; } = (chat ? "chatcmpl-" : "cmpl-") + Guid.NewGuid().ToString("N");
    public long Created { get; } = DateTimeOffset.UtcNow.ToUnixTimeSeconds();

    /// <summary>One choice: its own fields (message, delta or text; logprobs), how it finished, and its generation.</summary>
    public readonly record struct Choice(int Index, Action<Utf8JsonWriter> Fields, string? FinishReason, GenerationOutcome? Outcome);

    /// <summary>A whole (non-streamed) response.</summary>
    public byte[] Whole(IReadOnlyList<Choice> choices) =>
        Write(w => Envelope(w, chat ? "chat.completion" : "text_completion", choices, usage: true));

    /// <summary>A stream chunk of one choice; <see cref="Choice.Outcome"/> set on its last chunk.</summary>
    public byte[] Chunk(Choice choice) =>
        Write(w => Envelope(w, chat ? "chat.completion.chunk" : "text_completion", [choice], usage: false));

    /// <summary>The last chunk when the client asked for usage (stream_options.include_usage): no choices.</summary>
    public byte[] UsageChunk(int promptTokens, int completionTokens) => Write(w =>
    {
        w.WriteStartObject();
        Header(w, chat ? "chat.completion.chunk" : "text_completion");
        w.WriteStartArray("choices");
        w.WriteEndArray();
        OpenAiWriter.Usage(w, promptTokens, completionTokens);
        w.WriteEndObject();
    });

    void Envelope(Utf8JsonWriter w, string kind, IReadOnlyList<Choice> choices, bool usage)
    {
        w.WriteStartObject();
        Header(w, kind);
        w.WriteStartArray("choices");
        foreach (var c in choices)
        {
            w.WriteStartObject();
            w.WriteNumber("index", c.Index);
            c.Fields(w);
            if (c.FinishReason is null) w.WriteNull("finish_reason"); else w.WriteString("finish_reason", c.FinishReason);
            if (!chat && c.Outcome is not null) OpenAiWriter.Steering(w, c.Outcome.Steering);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        var done = choices.Where(c => c.Outcome is not null).Select(c => c.Outcome!).ToList();
        if (usage) OpenAiWriter.Usage(w, done.Sum(o => o.PromptTokens), done.Sum(o => o.CompletionTokens));
        if (chat && done.Count == 1) OpenAiWriter.Steering(w, done[0].Steering);
        if (done.Count > 0) OpenAiWriter.Timings(w, done, received);
        w.WriteEndObject();
    }

    void Header(Utf8JsonWriter w, string kind)
    {
        w.WriteString("id", Id);
        w.WriteString("object", kind);
        w.WriteNumber("created", Created);
        w.WriteString("model", model);
    }

    static byte[] Write(Action<Utf8JsonWriter> write)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(512);
        using (var w = new Utf8JsonWriter(buffer, OpenAiWriter.Options)) write(w);
        return buffer.WrittenSpan.ToArray();
    }
}

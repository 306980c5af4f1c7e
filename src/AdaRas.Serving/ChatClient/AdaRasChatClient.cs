using System.Runtime.CompilerServices;
using System.Threading.Channels;
using AdaRas.Engine;
using AdaRas.Serving.Execution;
using AdaRas.Serving.Steering;
using Microsoft.Extensions.AI;

namespace AdaRas.Serving.ChatClient;

/// <summary>Typed access to AdaRas's extras in <see cref="ChatOptions.AdditionalProperties"/> and on responses.</summary>
public static class AdaRasChatOptions
{
    /// <summary>The key of the <see cref="SteeringRequest"/> in <see cref="ChatOptions.AdditionalProperties"/>.</summary>
    public const string SteeringKey = "steering";
    /// <summary>The key of the bool that turns Qwen3's thinking off (false) or on (true, the default).</summary>
    public const string ThinkingKey = "enable_thinking";
    /// <summary>The key of the <see cref="SteeringOutcome"/> on responses and on the last streaming update.</summary>
    public const string OutcomeKey = "steering";

    /// <summary>Steers the request with <paramref name="steering"/> (a pattern the host serves, by name).</summary>
    public static ChatOptions WithSteering(this ChatOptions options, SteeringRequest steering)
    {
        (options.AdditionalProperties ??= [])[SteeringKey] = steering;
        return options;
    }

    /// <summary>Turns Qwen3's thinking on (the default) or off for the request.</summary>
    public static ChatOptions WithThinking(this ChatOptions options, bool enabled)
    {
        (options.AdditionalProperties ??= [])[ThinkingKey] = enabled;
        return options;
    }

    /// <summary>What was done: the gate's probability and whether the answer was steered; null when steering was not asked for.</summary>
    public static SteeringOutcome? GetSteeringOutcome(this ChatResponse response) =>
        response.AdditionalProperties?.TryGetValue(OutcomeKey, out var o) == true ? o as SteeringOutcome : null;

    /// <summary>The outcome on a streaming update (the last one carries it).</summary>
    public static SteeringOutcome? GetSteeringOutcome(this ChatResponseUpdate update) =>
        update.AdditionalProperties?.TryGetValue(OutcomeKey, out var o) == true ? o as SteeringOutcome : null;
}

/// <summary>
/// <see cref="IChatClient"/> over an in-process model (Microsoft.Extensions.AI): the same batch, steering and text
/// handling as `adaras serve`, without HTTP. Reasoning comes as <see cref="TextReasoningContent"/>, the answer as
/// text; steering goes in <see cref="ChatOptions.AdditionalProperties"/> (<see cref="AdaRasChatOptions.WithSteering"/>)
/// and what was done comes back on the response (<see cref="AdaRasChatOptions.GetSteeringOutcome(ChatResponse)"/>).
/// Defaults are `adaras generate`'s: greedy, 256 new tokens. The host stays owned by the caller.
/// </summary>
public sealed class AdaRasChatClient(ModelHost host) : IChatClient
{
    readonly ModelHost _host = host ?? throw new ArgumentNullException(nameof(host));

    /// <summary>Generates the whole answer (thinking as reasoning content, then the text), with the steering outcome.</summary>
    public async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        var updates = new List<ChatResponseUpdate>();
        await foreach (var u in GetStreamingResponseAsync(messages, options, cancellationToken).ConfigureAwait(false)) updates.Add(u);
        var response = updates.ToChatResponse();
        var outcome = updates.Select(u => u.GetSteeringOutcome()).LastOrDefault(o => o is not null);
        if (outcome is not null) (response.AdditionalProperties ??= [])[AdaRasChatOptions.OutcomeKey] = outcome;
        return response;
    }

    /// <summary>Streams the answer as it is generated; cancelling the enumeration frees the batch row at once.</summary>
    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages,
        ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var job = Job(messages, options);
        string responseId = "chatcmpl-" + Guid.NewGuid().ToString("N");
        var items = Channel.CreateUnbounded<TokenOutput>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        // A consumer that stops enumerating early cancels the generation too.
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var run = _host.Runner.RunAsync(job, null, t => items.Writer.TryWrite(t), stop.Token);
        _ = run.ContinueWith(_ => items.Writer.TryComplete(), TaskScheduler.Default);
        try
        {
            await foreach (var token in items.Reader.ReadAllAsync(CancellationToken.None).ConfigureAwait(false))
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (Update(token.Text, responseId) is { } update) yield return update;
            }
        }
        finally
        {
            if (!run.IsCompleted)
            {
                stop.Cancel();
                try { await run.ConfigureAwait(false); } catch (OperationCanceledException) { }
            }
        }
        var outcome = await run.ConfigureAwait(false);
        int usageTokens = outcome.CompletionTokens;
        var last = Update(outcome.Tail, responseId) ?? new ChatResponseUpdate(ChatRole.Assistant, (string?)null) { ResponseId = responseId };
        last.FinishReason = outcome.FinishReason == "stop" ? ChatFinishReason.Stop : ChatFinishReason.Length;
        last.ModelId = _host.ModelId;
        last.Contents.Add(new UsageContent(new UsageDetails
        {
            InputTokenCount = outcome.PromptTokens,
            OutputTokenCount = usageTokens,
            TotalTokenCount = outcome.PromptTokens + usageTokens,
        }));
        if (outcome.Steering is not null) (last.AdditionalProperties ??= [])[AdaRasChatOptions.OutcomeKey] = outcome.Steering;
        yield return last;
    }

    ChatResponseUpdate? Update(TextDelta delta, string responseId)
    {
        if (delta.IsEmpty) return null;
        var contents = new List<AIContent>();
        if (delta.Reasoning.Length > 0) contents.Add(new TextReasoningContent(delta.Reasoning));
        if (delta.Content.Length > 0) contents.Add(new TextContent(delta.Content));
        return new ChatResponseUpdate(ChatRole.Assistant, contents) { ResponseId = responseId, ModelId = _host.ModelId };
    }

    ServingJob Job(IEnumerable<ChatMessage> messages, ChatOptions? options)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var turns = messages.Select(m => new ChatTurn(m.Role.Value, m.Text)).ToList();
        bool thinking = options?.AdditionalProperties?.TryGetValue(AdaRasChatOptions.ThinkingKey, out var t) != true || t is not false;
        var prompt = _host.Encode(ChatPrompt.Render(turns, thinking), "messages");
        int maxTokens = options?.MaxOutputTokens ?? 256;
        _host.CheckMaxTokens(maxTokens, nameof(ChatOptions.MaxOutputTokens));
        double temperature = options?.Temperature ?? 0;
        var parameters = new GeneratorParams
        {
            MaxNewTokens = maxTokens,
            Temperature = temperature,
            DoSample = temperature > 0,
            TopK = options?.TopK ?? 0,
            TopP = options?.TopP ?? 1.0,
            Seed = (int)(options?.Seed ?? 0),
        };
        try { parameters.Validate(); }
        catch (ArgumentException e) { throw RequestException.Invalid(e.Message); }
        SteeringRequest? steering = null;
        if (options?.AdditionalProperties?.TryGetValue(AdaRasChatOptions.SteeringKey, out var s) == true)
            steering = s as SteeringRequest ?? throw RequestException.Invalid($"ChatOptions.AdditionalProperties[\"{AdaRasChatOptions.SteeringKey}\"] must be a SteeringRequest", "steering");
        return new ServingJob(prompt, parameters)
        {
            SplitThinking = true,
            Stop = options?.StopSequences?.ToArray() ?? [],
            Steering = steering is null ? null : _host.Steering.Resolve(steering),
            GateQuestion = turns.Count > 0 ? turns[^1].Content : "",
        };
    }

    /// <summary>The client's metadata, or the client itself, as <see cref="IChatClient"/> implementations expose them.</summary>
    public object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        if (serviceKey is not null) return null;
        if (serviceType == typeof(ChatClientMetadata)) return new ChatClientMetadata("adaras", null, _host.ModelId);
        if (serviceType == typeof(ModelHost)) return _host;
        return serviceType.IsInstanceOfType(this) ? this : null;
    }

    /// <summary>Nothing to release: the host and its model belong to the caller.</summary>
    public void Dispose() { }
}

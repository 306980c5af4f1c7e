#pragma warning disable SCME0001 // JsonPatch: how the OpenAI SDK sends fields it does not model (our "steering")
using System.ClientModel;
using System.Text.Json.Nodes;
using AdaRas.Engine;
using AdaRas.Workflows;
using AdaRas.Serving.ChatClient;
using AdaRas.Serving.Steering;
using AdaRas.Steering;
using AdaRas.Tests.Cli;
using Microsoft.Extensions.AI;
using OpenAI;
using OpenAI.Chat;
using MeaiChatMessage = Microsoft.Extensions.AI.ChatMessage;

namespace AdaRas.Tests.Serving;

/// <summary>
/// `adaras serve` on 127.0.0.1 with real clients: the official OpenAI .NET SDK and Microsoft.Extensions.AI.OpenAI
/// (the node `openai` package is in <see cref="NodeOpenAiClientTests"/>). Answers are compared with `adaras generate`
/// and the engine in-process, so the server's text, steering and gate are the CLI's to the token.
/// </summary>
[TestFixture]
public sealed class OpenAiClientTests
{
    const string Question = "How many apples are in twice the boxes?";
    const int Tokens = 24;
    const string SteeringJson = """{"pattern":"tiny","neurons":10,"alpha":2}""";
    static readonly string[] SteerArgs = ["--steer", "", "--neurons", "10", "--alpha", "2"];

    TestServer _server = null!;
    ChatClient _chat = null!;

    [OneTimeSetUp]
    public async Task Start()
    {
        _server = await TestServer.StartAsync();
        var client = new OpenAIClient(new ApiKeyCredential(TestServer.ApiKey), new OpenAIClientOptions { Endpoint = new Uri(_server.BaseUrl + "/v1") });
        _chat = client.GetChatClient("tiny-model");
    }

    [OneTimeTearDown]
    public async Task Stop() => await _server.DisposeAsync();

    /// <summary>What `adaras generate` prints for the question (the text before the final newline).</summary>
    static string Generate(bool steer, bool raw = false, string prompt = Question)
    {
        var args = new List<string> { "generate", prompt, "--model", ServingAssets.ModelFolder, "--max-new-tokens", Tokens.ToString() };
        if (raw) args.Add("--raw");
        if (steer) { args.AddRange(SteerArgs); args[args.IndexOf("--steer") + 1] = ServingAssets.PatternPath; }
        var result = CliRunner.Run(args.ToArray());
        Assert.That(result.ExitCode, Is.EqualTo(0), result.Error);
        Assert.That(result.Out, Does.EndWith("\n"));
        return result.Out[..^1];
    }

    /// <summary>
    /// The decoded text back from the chat endpoint's split: &lt;think&gt; opens only at the start and the first
    /// &lt;/think&gt; closes it, so whether they were there is read from the expected text.
    /// </summary>
    static string Joined(string reasoning, string content, string expected)
    {
        bool opened = expected.StartsWith("<think>", StringComparison.Ordinal);
        bool closed = opened && expected.IndexOf("</think>", "<think>".Length, StringComparison.Ordinal) >= 0;
        return opened ? "<think>" + reasoning + (closed ? "</think>" + content : "") : content;
    }

    ChatCompletionOptions Options(bool steer)
    {
        var options = new ChatCompletionOptions { MaxOutputTokenCount = Tokens, Temperature = 0 };
        if (steer) options.Patch.Set("$.steering"u8, BinaryData.FromString(SteeringJson));
        return options;
    }

    static (string Reasoning, string Content, JsonNode Raw) Read(ClientResult<ChatCompletion> result)
    {
        var raw = JsonNode.Parse(result.GetRawResponse().Content.ToString())!;
        var message = raw["choices"]![0]!["message"]!;
        Assert.That(result.Value.Content.Count == 0 ? "" : result.Value.Content[0].Text, Is.EqualTo((string)message["content"]!));
        return ((string?)message["reasoning_content"] ?? "", (string)message["content"]!, raw);
    }

    [Test]
    public void DotNetSdk_ChatIsWhatGeneratePrints_PlainAndSteered()
    {
        var plainExpected = Generate(steer: false);
        var steeredExpected = Generate(steer: true);
        Assert.That(steeredExpected, Is.Not.EqualTo(plainExpected), "control: this steering changes the tiny model's answer");

        var plain = Read(_chat.CompleteChat([new UserChatMessage(Question)], Options(steer: false)));
        Assert.That(Joined(plain.Reasoning, plain.Content, plainExpected), Is.EqualTo(plainExpected));
        Assert.That(plain.Raw["steering"], Is.Null, "no steering asked, none reported");

        var steered = Read(_chat.CompleteChat([new UserChatMessage(Question)], Options(steer: true)));
        Assert.That(Joined(steered.Reasoning, steered.Content, steeredExpected), Is.EqualTo(steeredExpected));
        var outcome = steered.Raw["steering"]!;
        Assert.That((bool)outcome["steered"]!, Is.True);
        Assert.That((string)outcome["pattern"]!, Is.EqualTo("tiny"));
        Assert.That(outcome["gate_probability"], Is.Null, "the gate was off");
        Assert.That((int)steered.Raw["usage"]!["completion_tokens"]!, Is.InRange(1, Tokens));
    }

    [Test]
    public async Task DotNetSdk_StreamingConcatenatesToTheSameAnswer()
    {
        var whole = Read(_chat.CompleteChat([new UserChatMessage(Question)], Options(steer: true)));
        var text = new System.Text.StringBuilder();
        int updates = 0;
        OpenAI.Chat.ChatFinishReason? finish = null;
        await foreach (var update in _chat.CompleteChatStreamingAsync([new UserChatMessage(Question)], Options(steer: true)))
        {
            updates++;
            foreach (var part in update.ContentUpdate) text.Append(part.Text);
            finish ??= update.FinishReason;
        }
        Assert.That(text.ToString(), Is.EqualTo(whole.Content));
        Assert.That(updates, Is.GreaterThan(2), "tokens arrive as separate events");
        Assert.That(finish, Is.Not.Null);
    }

    [Test]
    public async Task ExtensionsAiOpenAi_ChatStreamAndSteeringMatchTheInProcessClient()
    {
        IChatClient remote = _chat.AsIChatClient();
        using var local = new AdaRasChatClient(_server.Host);
        var steering = new SteeringRequest("tiny") { Neurons = 10, Alpha = 2 };
        var remoteOptions = new ChatOptions
        {
            MaxOutputTokens = Tokens, Temperature = 0,
            RawRepresentationFactory = _ => Options(steer: true),
        };
        var localOptions = new ChatOptions { MaxOutputTokens = Tokens }.WithSteering(steering);

        var viaHttp = await remote.GetResponseAsync([new MeaiChatMessage(ChatRole.User, Question)], remoteOptions);
        var inProcess = await local.GetResponseAsync([new MeaiChatMessage(ChatRole.User, Question)], localOptions);
        Assert.That(viaHttp.Text, Is.EqualTo(inProcess.Text));
        Assert.That(inProcess.GetSteeringOutcome()!.Steered, Is.True);
        Assert.That(inProcess.Usage!.OutputTokenCount, Is.EqualTo(viaHttp.Usage!.OutputTokenCount));

        var steeredExpected = Generate(steer: true);
        var reasoning = string.Concat(inProcess.Messages.SelectMany(m => m.Contents).OfType<TextReasoningContent>().Select(r => r.Text));
        Assert.That(Joined(reasoning, inProcess.Text, steeredExpected), Is.EqualTo(steeredExpected), "the IChatClient steers as generate --steer does");

        var streamed = new System.Text.StringBuilder();
        await foreach (var u in remote.GetStreamingResponseAsync([new MeaiChatMessage(ChatRole.User, Question)], remoteOptions)) streamed.Append(u.Text);
        Assert.That(streamed.ToString(), Is.EqualTo(viaHttp.Text));
    }

    [Test]
    public async Task Completions_EchoLogprobsAreTheEnginesTeacherForcedScores()
    {
        var prompt = "How many apples are in twice the boxes";
        var (status, body) = await _server.PostAsync("/v1/completions",
            new { model = "tiny-model", prompt, max_tokens = 1, temperature = 0, logprobs = 3, echo = true });
        Assert.That(status, Is.EqualTo(200), body?.ToJsonString());
        var choice = body!["choices"]![0]!;
        var lp = choice["logprobs"]!;
        var ids = _server.Model.Tokenizer.Encode(prompt);
        var tokenLogprobs = lp["token_logprobs"]!.AsArray();
        Assert.That(tokenLogprobs.Count, Is.EqualTo(ids.Length + 1), "every prompt token and the generated one");
        Assert.That(tokenLogprobs[0], Is.Null, "the first token has no prefix");

        var generated = TextGeneration.Generate(_server.Model, new ChatRequest(prompt) { Raw = true }, new GeneratorParams { MaxNewTokens = 1 });
        var scored = Scoring.Score(_server.Model, [.. ids, generated.TokenIds[0]]);
        for (int t = 1; t < tokenLogprobs.Count; t++)
            Assert.That((double)tokenLogprobs[t]!, Is.EqualTo(scored.LogProbs[t - 1]).Within(1e-4), $"token {t}");
        // lm-evaluation-harness's greedy check: the token's log-prob is the best of its top_logprobs.
        var top = lp["top_logprobs"]!.AsArray();
        Assert.That(top[^1]!.AsObject().Count, Is.EqualTo(3));
        Assert.That(top[^1]!.AsObject().Max(kv => (double)kv.Value!), Is.EqualTo((double)tokenLogprobs[^1]!).Within(1e-9), "greedy picks the top token");
        Assert.That((string)choice["text"]!, Does.StartWith(prompt));
        Assert.That(lp["tokens"]!.AsArray().Select(t => (string)t!), Is.EqualTo(ids.Select(i => _server.Model.Tokenizer.Decode([i])).Append(_server.Model.Tokenizer.Decode([generated.TokenIds[0]]))));
    }

    [Test]
    public async Task Completions_SteeredRawPromptIsWhatGenerateRawPrints()
    {
        // The chat-templated text fed raw: the tiny model answers it with printable text.
        var prompt = AdaRas.Engine.Tokenization.Qwen3ChatTemplate.Render(Question);
        var expected = Generate(steer: true, raw: true, prompt);
        var steering = System.Text.Json.JsonSerializer.Deserialize<JsonObject>(SteeringJson);
        var (status, body) = await _server.PostAsync("/v1/completions",
            new { model = "tiny-model", prompt, max_tokens = Tokens, temperature = 0, steering });
        Assert.That(status, Is.EqualTo(200), body?.ToJsonString());
        Assert.That((string)body!["choices"]![0]!["text"]!, Is.EqualTo(expected));
        Assert.That((bool)body["choices"]![0]!["steering"]!["steered"]!, Is.True);
        Assert.That(Generate(steer: false, raw: true, prompt), Is.Not.EqualTo(expected), "control: unsteered differs");
    }

    /// <summary>
    /// timings (llama.cpp's fields plus server_ms): the server's whole time holds the generation it reports, and fits
    /// inside the request's time at the client; so server_ms - prompt_ms - predicted_ms is the server's own overhead.
    /// </summary>
    [Test]
    public async Task Timings_ServerTimeHoldsTheGenerationAndFitsInTheClientsTime()
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var (status, body) = await _server.PostAsync("/v1/completions", new { model = "tiny-model", prompt = "How many apples", max_tokens = Tokens, temperature = 0 });
        double client = clock.Elapsed.TotalMilliseconds;
        Assert.That(status, Is.EqualTo(200), body?.ToJsonString());
        var t = body!["timings"]!;
        double prompt = (double)t["prompt_ms"]!, predicted = (double)t["predicted_ms"]!, server = (double)t["server_ms"]!;
        Assert.That((int)t["predicted_n"]!, Is.EqualTo((int)body["usage"]!["completion_tokens"]!));
        Assert.That(prompt, Is.GreaterThan(0));
        Assert.That(server, Is.GreaterThanOrEqualTo(prompt + predicted), "the server's time holds its generation");
        Assert.That(server, Is.LessThanOrEqualTo(client), "and fits inside the client's");
    }

    [Test]
    public async Task Gate_ReportsTheGatesProbabilityAndSteersExactlyBelowTheThreshold()
    {
        double p;
        using (var steerer = Steerer.Create(_server.Model, new SteeringOptions(ServingAssets.PatternPath) { Neurons = 10, Alpha = 2 }))
            p = AdaptiveSteering.Create(_server.Model, steerer, ServingAssets.GatePath).Decide(Question).Score;

        async Task<JsonNode> Ask(object gate)
        {
            var (status, body) = await _server.PostAsync("/v1/chat/completions", new
            {
                model = "tiny-model", messages = new[] { new { role = "user", content = Question } }, max_tokens = Tokens,
                steering = new { pattern = "tiny", neurons = 10, alpha = 2, gate },
            });
            Assert.That(status, Is.EqualTo(200), body?.ToJsonString());
            return body!;
        }
        static string Text(JsonNode b) => (string?)b["choices"]![0]!["message"]!["reasoning_content"] + "|" + (string)b["choices"]![0]!["message"]!["content"]!;

        var never = await Ask(0.0);
        var always = await Ask(1.0);
        var on = await Ask("on");
        Assert.That((double)never["steering"]!["gate_probability"]!, Is.EqualTo(p).Within(1e-12));
        Assert.That((bool)never["steering"]!["steered"]!, Is.False);
        Assert.That((bool)always["steering"]!["steered"]!, Is.True);
        Assert.That(Text(never), Is.Not.EqualTo(Text(always)), "steered and unsteered answers differ");
        Assert.That((double)on["steering"]!["gate_threshold"]!, Is.EqualTo(ServingGateThreshold()));
        Assert.That((bool)on["steering"]!["steered"]!, Is.EqualTo(p < ServingGateThreshold()));
        Assert.That(Text(on), Is.EqualTo(p < ServingGateThreshold() ? Text(always) : Text(never)));
        // Just above and at the probability: p < t steers, p >= t does not (AdaptiveSteering's rule).
        Assert.That((bool)(await Ask(Math.BitIncrement(p)))["steering"]!["steered"]!, Is.True);
        Assert.That((bool)(await Ask(p))["steering"]!["steered"]!, Is.False);
    }

    static double ServingGateThreshold() =>
        AdaRas.Probing.Gate.AttentionGate.Load(ServingAssets.GatePath).Threshold;

    [Test]
    public async Task TwoConcurrentRequestsWithDifferentSteeringEachGetTheirOwnAnswer()
    {
        object Body(object? steering) => new
        {
            model = "tiny-model", messages = new[] { new { role = "user", content = Question } }, max_tokens = Tokens, steering,
        };
        var a = new { pattern = "tiny", neurons = 10, alpha = 2 };
        var b = new { pattern = "tiny", neurons = 20, alpha = -3, positions = "all" };
        var aloneA = (await _server.PostAsync("/v1/chat/completions", Body(a))).Body!["choices"]!.ToJsonString();
        var aloneB = (await _server.PostAsync("/v1/chat/completions", Body(b))).Body!["choices"]!.ToJsonString();
        var alonePlain = (await _server.PostAsync("/v1/chat/completions", Body(null))).Body!["choices"]!.ToJsonString();
        Assert.That(new[] { aloneA, aloneB, alonePlain }.Distinct().Count(), Is.EqualTo(3), "control: the three settings answer differently");

        var together = await Task.WhenAll(
            _server.PostAsync("/v1/chat/completions", Body(a)),
            _server.PostAsync("/v1/chat/completions", Body(b)),
            _server.PostAsync("/v1/chat/completions", Body(null)));
        Assert.That(together.Select(r => r.Body!["choices"]!.ToJsonString()), Is.EqualTo(new[] { aloneA, aloneB, alonePlain }));
    }

    [Test]
    public async Task InProcessChatClient_CancellationStopsTheGenerationAndFreesTheGenerator()
    {
        using var local = new AdaRasChatClient(_server.Host);
        using var cts = new CancellationTokenSource();
        int seen = 0;
        var options = new ChatOptions { MaxOutputTokens = 200 };
        Assert.CatchAsync<OperationCanceledException>(async () =>
        {
            await foreach (var u in local.GetStreamingResponseAsync([new MeaiChatMessage(ChatRole.User, Question)], options, cts.Token))
                if (++seen == 2) cts.Cancel();
        });
        var health = await _server.IdleHealthAsync();
        Assert.That((int)health["live_generators"]!, Is.EqualTo(0));
        Assert.That(seen, Is.LessThan(5));
    }
}

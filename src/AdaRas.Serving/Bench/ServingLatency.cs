using System.Diagnostics;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using AdaRas.Engine;
using AdaRas.Serving.Http;
using AdaRas.Workflows;

namespace AdaRas.Serving.Bench;

/// <summary>
/// First-token and per-token latency of one generation path, in milliseconds: medians over the repeats, and the best
/// run's (noise on a shared machine only ever adds time, so the best is the steadiest estimate of the path's own cost).
/// </summary>
internal sealed record LatencyRow(string Path, double FirstTokenMs, double PerTokenMs, double BestFirstTokenMs, double BestPerTokenMs);

/// <summary>A per-request cost in milliseconds: the median over the repeats and the best (lowest) one.</summary>
internal readonly record struct Millis(double Median, double Best);

/// <summary>
/// The server's cost beside generation, measured side by side in one run at batch 1 (one request at a time): the
/// same greedy generation in-process (a <see cref="Generator"/> loop) and streamed through `adaras serve` on
/// 127.0.0.1 (an HTTP client reading the server-sent events), alternating; and the per-request overhead of a
/// non-streamed request: inside the server (<c>timings.server_ms</c>, from its arrival to its body, minus the
/// generation) and at the client (its request time minus the generation), beside a bare <c>GET /health</c> round
/// trip made at the same point of each round (right after a generation: the loopback's own cost on this machine).
/// The paired ratios are <see cref="Medians.OfPairedRatios"/> of the two paths' rounds.
/// </summary>
internal sealed record ServingLatencyReport(string Model, LatencyRow InProcess, LatencyRow Server, Millis ServerOverhead, Millis ClientOverhead,
    Millis BareRoundTrip, int PromptTokens, int NewTokens, int Repeats, double PairedFirstTokenRatio, double PairedPerTokenRatio)
{
    public double FirstTokenRatio => Server.FirstTokenMs / InProcess.FirstTokenMs;
    public double PerTokenRatio => Server.PerTokenMs / InProcess.PerTokenMs;
    public double BestFirstTokenRatio => Server.BestFirstTokenMs / InProcess.BestFirstTokenMs;
    public double BestPerTokenRatio => Server.BestPerTokenMs / InProcess.BestPerTokenMs;

    public string ToMarkdown() => string.Create(System.Globalization.CultureInfo.InvariantCulture, $"""
        Model: {Model}; batch 1, prompt {PromptTokens} tokens, {NewTokens} new tokens, {Repeats} runs per path, alternating.

        | path | first token ms (median) | per token ms (median) | first token ms (best) | per token ms (best) |
        |---|---:|---:|---:|---:|
        | {InProcess.Path} | {InProcess.FirstTokenMs:F2} | {InProcess.PerTokenMs:F3} | {InProcess.BestFirstTokenMs:F2} | {InProcess.BestPerTokenMs:F3} |
        | {Server.Path} | {Server.FirstTokenMs:F2} | {Server.PerTokenMs:F3} | {Server.BestFirstTokenMs:F2} | {Server.BestPerTokenMs:F3} |

        - server / in-process, paired by round (median of the rounds' ratios): first token **{PairedFirstTokenRatio:F3}x**, per token **{PairedPerTokenRatio:F3}x** (target <= 1.05); ratio of the medians: {FirstTokenRatio:F3}x, {PerTokenRatio:F3}x; of the best runs: {BestFirstTokenRatio:F3}x, {BestPerTokenRatio:F3}x
        - server overhead per request beside generation, inside the server (arrival to response body, minus generation): **{ServerOverhead.Median:F3} ms** median, {ServerOverhead.Best:F3} ms best (target < 1 ms)
        - the same request at the client (request time minus generation): {ClientOverhead.Median:F3} ms median, {ClientOverhead.Best:F3} ms best; a bare `GET /health` round trip at the same point: {BareRoundTrip.Median:F3} ms median, {BareRoundTrip.Best:F3} ms best (the client's HTTP stack and the loopback)
        """);
}

/// <summary>Latency through the server (real HTTP on 127.0.0.1, SSE) against in-process generation on the same model.</summary>
internal static class ServingLatency
{
    /// <summary>Measures both paths, interleaved, <paramref name="repeats"/> times each (batch 1, greedy).</summary>
    // Long on purpose: one measurement protocol (warm-up, interleaved rounds, both clocks) read top to bottom; split
    // into parts, the rounds' shared timing state would have to travel between them.
    public static async Task<ServingLatencyReport> MeasureAsync(LanguageModel model, int promptTokens = 32, int newTokens = 16, int repeats = 5,
        CancellationToken cancellation = default)
    {
        if (promptTokens < 1 || newTokens < 2 || repeats < 1) throw new ArgumentException("the bench needs a prompt, at least 2 new tokens and 1 repeat");
        if (promptTokens + newTokens > model.Manifest.ContextLength)
            throw new ArgumentException($"prompt {promptTokens} + {newTokens} new tokens exceed the model's context of {model.Manifest.ContextLength}");
        var limits = new ServingLimits { MaxPromptTokens = promptTokens + 8, MaxTokens = newTokens };
        using var host = new ModelHost(model, [], limits, "bench");
        await using var app = ServingApp.Create(host, new ServerOptions { Port = 0 });
        await app.StartAsync(cancellation);
        using var http = new HttpClient { BaseAddress = new Uri(app.Address), Timeout = TimeSpan.FromMinutes(10) };

        // A fixed prompt of token ids the tokenizer knows; no stop tokens, so every run makes exactly newTokens.
        var prompt = Enumerable.Range(0, promptTokens).Select(i => 1 + i * 7 % Math.Max(1, model.Tokenizer.VocabCount - 1)).ToArray();
        var parameters = new GeneratorParams { MaxNewTokens = newTokens, StopTokenIds = [] };

        (double First, double PerToken) InProcess()
        {
            var clock = Stopwatch.StartNew();
            using var g = new Generator(model, parameters) { ActivationTaps = false };
            g.AppendTokens(prompt);
            g.GenerateNextToken();
            double first = clock.Elapsed.TotalMilliseconds;
            while (!g.IsDone) g.GenerateNextToken();
            return (first, (clock.Elapsed.TotalMilliseconds - first) / (newTokens - 1));
        }

        HttpRequestMessage Request(bool stream) => new(HttpMethod.Post, "/v1/completions")
        {
            Content = new StringContent(JsonSerializer.Serialize(new { model = "bench", prompt, max_tokens = newTokens, temperature = 0, stream, ignore_eos = true }),
                Encoding.UTF8, "application/json"),
        };

        async Task<(double First, double PerToken)> Streamed()
        {
            var clock = Stopwatch.StartNew();
            using var request = Request(stream: true);
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellation);
            response.EnsureSuccessStatusCode();
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cancellation));
            double first = -1, last = 0;
            int seen = 0;
            while (await reader.ReadLineAsync(cancellation) is { } line)
            {
                if (line == "data: [DONE]") break;
                if (!line.StartsWith("data: ", StringComparison.Ordinal)) continue;
                var chunk = JsonNode.Parse(line.AsSpan(6).ToString())!;
                if (chunk["choices"]![0]!["finish_reason"] is not null) continue;
                seen++;
                last = clock.Elapsed.TotalMilliseconds;
                if (first < 0) first = last;
            }
            if (seen != newTokens) throw new InvalidOperationException($"the stream carried {seen} token events, expected {newTokens}");
            return (first, (last - first) / (newTokens - 1));
        }

        // The server's own time and the request time at the client, each minus the generation time the server measured.
        async Task<(double Server, double Client)> Overhead()
        {
            var clock = Stopwatch.StartNew();
            using var request = Request(stream: false);
            using var response = await http.SendAsync(request, cancellation);
            response.EnsureSuccessStatusCode();
            var body = JsonNode.Parse(await response.Content.ReadAsStringAsync(cancellation))!;
            double total = clock.Elapsed.TotalMilliseconds;
            var timings = body["timings"]!;
            if ((int)timings["predicted_n"]! != newTokens) throw new InvalidOperationException($"the server made {timings["predicted_n"]} tokens, expected {newTokens}");
            double generation = (double)timings["prompt_ms"]! + (double)timings["predicted_ms"]!;
            return ((double)timings["server_ms"]! - generation, total - generation);
        }

        async Task<double> BareRoundTrip()
        {
            var clock = Stopwatch.StartNew();
            using var response = await http.GetAsync("/health", cancellation);
            await response.Content.ReadAsStringAsync(cancellation);
            return clock.Elapsed.TotalMilliseconds;
        }

        InProcess();
        await Streamed();
        await BareRoundTrip();
        await Overhead();
        var local = new List<(double First, double PerToken)>();
        var served = new List<(double First, double PerToken)>();
        var overhead = new List<(double Server, double Client)>();
        var bare = new List<double>();
        for (int r = 0; r < repeats; r++)
        {
            local.Add(InProcess());
            served.Add(await Streamed());
            bare.Add(await BareRoundTrip());   // right after a generation, as the request below is
            InProcess();                       // so the timed request also follows a generation
            overhead.Add(await Overhead());
        }

        var m = model.Manifest;
        string described = $"{m.NumLayers} layers, hidden {m.HiddenSize}, {m.Precision}, {m.WeightBytesPerToken / 1e6:F0} MB of weights per token";
        return new ServingLatencyReport(described,
            new LatencyRow("in-process (Generator loop)", Medians.Of(local.Select(l => l.First)), Medians.Of(local.Select(l => l.PerToken)),
                local.Min(l => l.First), local.Min(l => l.PerToken)),
            new LatencyRow("adaras serve, streamed over HTTP", Medians.Of(served.Select(s => s.First)), Medians.Of(served.Select(s => s.PerToken)),
                served.Min(s => s.First), served.Min(s => s.PerToken)),
            Of(overhead.Select(o => o.Server)), Of(overhead.Select(o => o.Client)), Of(bare), promptTokens, newTokens, repeats,
            Medians.OfPairedRatios(served.Select(s => s.First), local.Select(l => l.First)),
            Medians.OfPairedRatios(served.Select(s => s.PerToken), local.Select(l => l.PerToken)));
        Millis Of(IEnumerable<double> values) => new(Medians.Of(values), values.Min());
    }
}

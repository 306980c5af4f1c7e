using System.Diagnostics;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using AdaRas.Engine;
using AdaRas.Serving.Http;

namespace AdaRas.Serving.Bench;

/// <summary>First-token and per-token latency of one generation path, in milliseconds (medians over the repeats).</summary>
public sealed record LatencyRow(string Path, double FirstTokenMs, double PerTokenMs);

/// <summary>
/// The server's cost beside generation, measured side by side in one run at batch 1: the same greedy generation
/// in-process (a <see cref="Generator"/> loop) and streamed through `adaras serve` on 127.0.0.1 (an HTTP client
/// reading the server-sent events), alternating, plus the per-request overhead of a one-token request.
/// </summary>
public sealed record ServingLatencyReport(LatencyRow InProcess, LatencyRow Server, double RequestOverheadMs, double MinRequestOverheadMs,
    int PromptTokens, int NewTokens, int Repeats)
{
    public double FirstTokenRatio => Server.FirstTokenMs / InProcess.FirstTokenMs;
    public double PerTokenRatio => Server.PerTokenMs / InProcess.PerTokenMs;

    public string ToMarkdown() => string.Create(System.Globalization.CultureInfo.InvariantCulture, $"""
        | path (batch 1, prompt {PromptTokens}, {NewTokens} new tokens, median of {Repeats}) | first token ms | per token ms |
        |---|---:|---:|
        | {InProcess.Path} | {InProcess.FirstTokenMs:F2} | {InProcess.PerTokenMs:F3} |
        | {Server.Path} | {Server.FirstTokenMs:F2} | {Server.PerTokenMs:F3} |

        - server / in-process: first token **{FirstTokenRatio:F3}x**, per token **{PerTokenRatio:F3}x** (target <= 1.05)
        - server overhead per request beside generation: **{RequestOverheadMs:F3} ms** median, {MinRequestOverheadMs:F3} ms best (one-token requests minus the same work in-process; target < 1 ms)
        """);
}

public static class ServingLatency
{
    public static async Task<ServingLatencyReport> MeasureAsync(LanguageModel model, int promptTokens = 32, int newTokens = 16, int repeats = 5,
        CancellationToken cancellation = default)
    {
        if (promptTokens < 1 || newTokens < 2 || repeats < 1) throw new ArgumentException("the bench needs a prompt, at least 2 new tokens and 1 repeat");
        var limits = new ServingLimits { MaxPromptTokens = promptTokens + 8, MaxTokens = newTokens };
        using var host = new ModelHost(model, [], limits, "bench");
        await using var app = ServingApp.Create(host, new ServerOptions { Port = 0 });
        await app.StartAsync(cancellation);
        using var http = new HttpClient { BaseAddress = new Uri(app.Address), Timeout = TimeSpan.FromMinutes(10) };

        // A fixed prompt of token ids the tokenizer knows; no stop tokens, so every run makes exactly newTokens.
        var prompt = Enumerable.Range(0, promptTokens).Select(i => 1 + i * 7 % Math.Max(1, model.Tokenizer.VocabCount - 1)).ToArray();
        var parameters = new GeneratorParams { MaxNewTokens = newTokens, StopTokenIds = [] };

        (double First, double PerToken) InProcess(int tokens)
        {
            var clock = Stopwatch.StartNew();
            using var g = new Generator(model, parameters with { MaxNewTokens = tokens });
            g.AppendTokens(prompt);
            g.GenerateNextToken();
            double first = clock.Elapsed.TotalMilliseconds;
            while (!g.IsDone) g.GenerateNextToken();
            return (first, tokens > 1 ? (clock.Elapsed.TotalMilliseconds - first) / (tokens - 1) : 0);
        }

        async Task<(double First, double PerToken)> Served(int tokens, bool stream)
        {
            var body = JsonSerializer.Serialize(new { model = "bench", prompt, max_tokens = tokens, temperature = 0, stream, ignore_eos = true });
            var clock = Stopwatch.StartNew();
            using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/completions") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellation);
            response.EnsureSuccessStatusCode();
            if (!stream)
            {
                await response.Content.ReadAsStringAsync(cancellation);
                return (clock.Elapsed.TotalMilliseconds, 0);
            }
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
            if (seen != tokens) throw new InvalidOperationException($"the stream carried {seen} token events, expected {tokens}");
            return (first, (last - first) / (tokens - 1));
        }

        InProcess(newTokens);
        await Served(newTokens, stream: true);
        var local = new List<(double First, double PerToken)>();
        var served = new List<(double First, double PerToken)>();
        for (int r = 0; r < repeats; r++)
        {
            local.Add(InProcess(newTokens));
            served.Add(await Served(newTokens, stream: true));
        }

        // Overhead: one-token requests, non-streamed, against the same one-token generation in-process.
        var overhead = new List<double>();
        for (int r = 0; r < Math.Max(5, repeats * 4); r++)
        {
            double inProcess = InProcess(1).First;
            double viaServer = (await Served(1, stream: false)).First;
            overhead.Add(viaServer - inProcess);
        }

        static double Median(IEnumerable<double> values)
        {
            var sorted = values.OrderBy(v => v).ToArray();
            return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
        }
        return new ServingLatencyReport(
            new LatencyRow("in-process (Generator loop)", Median(local.Select(l => l.First)), Median(local.Select(l => l.PerToken))),
            new LatencyRow("adaras serve, streamed over HTTP", Median(served.Select(s => s.First)), Median(served.Select(s => s.PerToken))),
            Median(overhead), overhead.Min(), promptTokens, newTokens, repeats);
    }
}

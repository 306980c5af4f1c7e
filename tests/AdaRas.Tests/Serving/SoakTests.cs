using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace AdaRas.Tests.Serving;

/// <summary>
/// A bounded soak against 127.0.0.1: 200 requests from 8 concurrent clients, mixed prompts and steering (none,
/// two settings, the gate), streamed and not, about one in six cancelled by its client at a random moment. No
/// request may fail, every completed answer must equal the same request served alone (greedy), no generator may
/// outlive its request, and the managed heap may not grow by more than 16 MB.
/// </summary>
[TestFixture]
public sealed class SoakTests
{
    const int Requests = 200, Clients = 8, MaxTokens = 16;
    const long HeapGrowthBound = 16L << 20;

    static readonly string[] Prompts = ["How many apples are in twice the boxes?", "What is the sum of the prime angle?", "Count the coins by the river.", "hi"];
    static readonly object?[] Steerings =
    [
        null,
        new { pattern = "tiny", neurons = 10, alpha = 2 },
        new { pattern = "tiny", neurons = 20, alpha = -3, positions = "all" },
        new { pattern = "tiny", neurons = 10, alpha = 2, gate = "on" },
    ];

    static string Body(int prompt, int steering, bool stream) => JsonSerializer.Serialize(new
    {
        model = "tiny-model", messages = new[] { new { role = "user", content = Prompts[prompt] } }, max_tokens = MaxTokens,
        steering = Steerings[steering], stream,
    });

    /// <summary>Sends one request; returns the answer as "reasoning|content|finish", from the JSON or the event stream.</summary>
    static async Task<string> Ask(HttpClient client, string body, bool stream, CancellationToken cancellation)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellation);
        Assert.That((int)response.StatusCode, Is.EqualTo(200), await response.Content.ReadAsStringAsync(cancellation));
        if (!stream)
        {
            var json = JsonNode.Parse(await response.Content.ReadAsStringAsync(cancellation))!;
            var choice = json["choices"]![0]!;
            return $"{(string?)choice["message"]!["reasoning_content"]}|{(string)choice["message"]!["content"]!}|{(string)choice["finish_reason"]!}";
        }
        var reasoning = new StringBuilder();
        var content = new StringBuilder();
        string? finish = null;
        bool done = false;
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cancellation));
        while (await reader.ReadLineAsync(cancellation) is { } line)
        {
            if (!line.StartsWith("data: ", StringComparison.Ordinal)) continue;
            if (line == "data: [DONE]") { done = true; break; }
            var chunk = JsonNode.Parse(line[6..])!;
            var choice = chunk["choices"]![0]!;
            reasoning.Append((string?)choice["delta"]!["reasoning_content"]);
            content.Append((string?)choice["delta"]!["content"]);
            finish ??= (string?)choice["finish_reason"];
        }
        Assert.That(done, "the stream ends with [DONE]");
        return $"{reasoning}|{content}|{finish}";
    }

    [Test]
    public async Task TwoHundredMixedRequestsFromEightClients_NoFailureNoLeakSameAnswers()
    {
        await using var server = await TestServer.StartAsync();
        using var client = new HttpClient { BaseAddress = new Uri(server.BaseUrl), Timeout = TimeSpan.FromSeconds(60) };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", TestServer.ApiKey);
        using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(90));

        // Each distinct request served alone first: the answers every concurrent one must reproduce.
        var alone = new Dictionary<(int, int), string>();
        for (int p = 0; p < Prompts.Length; p++)
            for (int s = 0; s < Steerings.Length; s++)
                alone[(p, s)] = await Ask(client, Body(p, s, stream: false), false, bound.Token);
        Assert.That(alone.Values.Distinct().Count(), Is.GreaterThan(Prompts.Length), "control: steering changes answers");
        Assert.That(await Ask(client, Body(0, 1, stream: true), true, bound.Token), Is.EqualTo(alone[(0, 1)]), "streamed = not streamed");

        GC.Collect(); GC.WaitForPendingFinalizers(); GC.Collect();
        long heapBefore = GC.GetTotalMemory(forceFullCollection: true);
        long completedBefore = server.Host.Runner.Completed, cancelledBefore = server.Host.Runner.Cancelled;

        int next = -1, completedAnswers = 0, clientCancels = 0;
        var mismatches = new System.Collections.Concurrent.ConcurrentBag<string>();
        async Task RunClient(int seed)
        {
            var rng = new Random(seed);
            while (Interlocked.Increment(ref next) < Requests)
            {
                int p = rng.Next(Prompts.Length), s = rng.Next(Steerings.Length);
                bool stream = rng.Next(2) == 0, cancel = rng.Next(6) == 0;
                using var cts = CancellationTokenSource.CreateLinkedTokenSource(bound.Token);
                if (cancel) cts.CancelAfter(TimeSpan.FromMilliseconds(rng.Next(0, 8)));
                try
                {
                    var answer = await Ask(client, Body(p, s, stream), stream, cts.Token);
                    Interlocked.Increment(ref completedAnswers);
                    if (answer != alone[(p, s)]) mismatches.Add($"prompt {p} steering {s} stream {stream}: {answer} != {alone[(p, s)]}");
                }
                catch (OperationCanceledException) when (cancel && !bound.IsCancellationRequested)
                {
                    Interlocked.Increment(ref clientCancels);
                }
            }
        }
        await Task.WhenAll(Enumerable.Range(0, Clients).Select(i => Task.Run(() => RunClient(1000 + i))));
        Assert.That(bound.IsCancellationRequested, Is.False, "the soak finished inside its time bound");

        var health = await server.IdleHealthAsync();
        Assert.That(mismatches, Is.Empty);
        Assert.That(completedAnswers + clientCancels, Is.EqualTo(Requests));
        Assert.That(clientCancels, Is.GreaterThan(10), "the soak did cancel requests");
        Assert.That((int)health["live_generators"]!, Is.EqualTo(0), "no generator outlives its request");
        Assert.That((int)health["in_flight"]!, Is.EqualTo(0));
        Assert.That((long)health["failed"]!, Is.EqualTo(0));
        // Every request the server admitted either completed or was cancelled (a client may cancel before sending).
        Assert.That(server.Host.Runner.Completed - completedBefore + server.Host.Runner.Cancelled - cancelledBefore,
            Is.InRange(completedAnswers, Requests));

        GC.Collect(); GC.WaitForPendingFinalizers(); GC.Collect();
        long growth = GC.GetTotalMemory(forceFullCollection: true) - heapBefore;
        TestContext.Out.WriteLine($"soak: {completedAnswers} completed, {clientCancels} cancelled by clients, managed heap growth {growth / 1024.0:F0} KiB");
        Assert.That(growth, Is.LessThan(HeapGrowthBound));
    }
}
